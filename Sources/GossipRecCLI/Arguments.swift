import Foundation

/// A command-line problem, always naming the flag and the offending value.
public enum CLIError: Error, CustomStringConvertible, Equatable {
    case unknownCommand(String)
    case unknownOption(command: String, option: String)
    case missingValue(option: String)
    case missingRequired(option: String)
    case badValue(option: String, value: String, expected: String)
    case helpRequested(String)
    /// The option (or its absence) cannot be accepted, for `reason` (a full sentence naming what to do).
    case refused(option: String, reason: String)

    public var description: String {
        switch self {
        case .unknownCommand(let c): return "unknown command '\(c)'; run 'gossiprec --help' for the list"
        case .unknownOption(let c, let o): return "unknown option '\(o)'; run 'gossiprec \(c) --help'"
        case .missingValue(let o): return "option '\(o)' needs a value"
        case .missingRequired(let o): return "option '\(o)' is required"
        case .badValue(let o, let v, let e): return "option '\(o)': '\(v)' is not \(e)"
        case .helpRequested(let text): return text
        case .refused(let o, let r): return "\(o): \(r)"
        }
    }
}

/// One option of a subcommand: `--name VALUE`, or a flag `--name` when `value` is nil.
public struct OptionSpec: Sendable {
    public var name: String
    public var value: String?
    public var help: String
    public var defaultValue: String?
    public init(_ name: String, _ value: String?, _ help: String, default d: String? = nil) {
        self.name = name; self.value = value; self.help = help; self.defaultValue = d
    }
}

/// Parsed options of one subcommand. Parsing is pure (`[String] -> ParsedOptions`) and unit-tested.
public struct ParsedOptions: Sendable {
    public var command: String
    public var values: [String: String] = [:]
    public var flags: Set<String> = []

    public static func parse(command: String, summary: String, specs: [OptionSpec], _ args: [String]) throws -> ParsedOptions {
        var out = ParsedOptions(command: command)
        let byName = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        var i = 0
        while i < args.count {
            var a = args[i]
            if a == "--help" || a == "-h" { throw CLIError.helpRequested(help(command: command, summary: summary, specs: specs)) }
            var inline: String? = nil
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                inline = String(a[a.index(after: eq)...]); a = String(a[..<eq])
            }
            guard a.hasPrefix("--"), let spec = byName[String(a.dropFirst(2))] else {
                throw CLIError.unknownOption(command: command, option: args[i])
            }
            if spec.value == nil {
                if inline != nil { throw CLIError.badValue(option: a, value: inline!, expected: "accepted (this flag takes no value)") }
                out.flags.insert(spec.name)
            } else if let v = inline {
                out.values[spec.name] = v
            } else {
                // A value that is itself one of this command's options means the value was left out
                // (`split --data --out x` must not read "--out" as the data file).
                guard i + 1 < args.count, !Self.isOption(args[i + 1], byName) else { throw CLIError.missingValue(option: a) }
                i += 1
                out.values[spec.name] = args[i]
            }
            i += 1
        }
        for s in specs where s.value != nil && out.values[s.name] == nil {
            if let d = s.defaultValue { out.values[s.name] = d }
        }
        return out
    }

    static func isOption(_ arg: String, _ byName: [String: OptionSpec]) -> Bool {
        guard arg.hasPrefix("--") else { return false }
        let name = arg.dropFirst(2).split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        return byName[name] != nil || name == "help"
    }

    public static func help(command: String, summary: String, specs: [OptionSpec]) -> String {
        var s = "usage: gossiprec \(command) [options]\n\n\(summary)\n\noptions:\n"
        for o in specs {
            let left = "  --\(o.name)" + (o.value.map { " \($0)" } ?? "")
            let pad = String(repeating: " ", count: max(2, 28 - left.count))
            s += left + pad + o.help + (o.defaultValue.map { " (default \($0))" } ?? "") + "\n"
        }
        return s + "  --help                    show this help\n"
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    public func string(_ name: String) throws -> String {
        guard let v = values[name] else { throw CLIError.missingRequired(option: "--\(name)") }
        return v
    }

    public func optionalString(_ name: String) -> String? { values[name] }

    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let v = try string(name)
        guard let x = Int(v), range.contains(x) else {
            throw CLIError.badValue(option: "--\(name)", value: v, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return x
    }

    public func double(_ name: String, in range: ClosedRange<Double>) throws -> Double {
        let v = try string(name)
        guard let x = Double(v), x.isFinite, range.contains(x) else {
            throw CLIError.badValue(option: "--\(name)", value: v, expected: "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return x
    }

    public func optionalDouble(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        values[name] == nil ? nil : try double(name, in: range)
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T where T.RawValue == String {
        let v = try string(name)
        guard let x = T(rawValue: v) else {
            throw CLIError.badValue(option: "--\(name)", value: v, expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return x
    }

    public func seed(_ name: String = "seed") throws -> UInt64 {
        let v = try string(name)
        guard let x = UInt64(v) else { throw CLIError.badValue(option: "--\(name)", value: v, expected: "a non-negative integer") }
        return x
    }
}

/// Output helpers: stdout for results, stderr for progress and errors.
enum Console {
    static func out(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
    static func err(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// A compact JSON object writer for one-line summaries (keys in the order given).
struct JSONLine {
    private var parts: [String] = []
    mutating func add(_ key: String, _ v: Double, digits: Int = 4) {
        parts.append("\"\(key)\":" + (v.isFinite ? String(format: "%.\(digits)f", v) : "null"))
    }
    mutating func add(_ key: String, _ v: Int) { parts.append("\"\(key)\":\(v)") }
    mutating func add(_ key: String, _ v: Bool) { parts.append("\"\(key)\":\(v)") }
    mutating func add(_ key: String, _ v: String) {
        let esc = v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        parts.append("\"\(key)\":\"\(esc)\"")
    }
    var text: String { "{" + parts.joined(separator: ",") + "}" }
}
