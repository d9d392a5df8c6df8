import Foundation
import Testing
@testable import RecommenderModel

/// Ingest of ratings files: every malformed kind is rejected with file, line and text; the good cases
/// (CRLF, CSV header, plain with comments, missing timestamps, duplicates, id order) are read as documented.
@Suite struct DatasetParsingTests {

    // MARK: - Malformed input

    /// Checks a `.malformedLine` error and that its description shows `file:line:` and the offending text.
    func expectMalformed(_ text: String, file: String, format: DataFormat = .auto, line: Int, offending: String,
                         reasonMentions: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = parseError(text, file: file, format: format, sourceLocation: sourceLocation) else { return }
        guard case .malformedLine(let f, let n, let t, let reason) = e else {
            Issue.record("expected malformedLine, got \(e)", sourceLocation: sourceLocation)
            return
        }
        #expect(f == file, sourceLocation: sourceLocation)
        #expect(n == line, sourceLocation: sourceLocation)
        #expect(t == offending, sourceLocation: sourceLocation)
        if let m = reasonMentions { #expect(reason.contains(m), "reason: \(reason)", sourceLocation: sourceLocation) }
        let shown = offending.replacingOccurrences(of: "\t", with: "\\t")
        #expect(e.description.contains("\(file):\(line):"), "\(e.description)", sourceLocation: sourceLocation)
        #expect(e.description.contains(shown), "\(e.description)", sourceLocation: sourceLocation)
    }

    @Test func movieLensLineWithWrongFieldCountIsRejected() {
        expectMalformed("1\t2\t5\t100\n1\t3\t4\n", file: "u.data", format: .movielens, line: 2,
                        offending: "1\t3\t4", reasonMentions: "found 3")
        expectMalformed("1\t2\t5\t100\n\n1\t3\t4\t9\t9\n", file: "u.data", format: .movielens, line: 3,
                        offending: "1\t3\t4\t9\t9", reasonMentions: "found 5")
        // Auto-detection picks MovieLens from the first line; a later space-separated line is then malformed.
        expectMalformed("1\t2\t5\t100\n1 3 4 101\n", file: "u.data", line: 2, offending: "1 3 4 101")
    }

    @Test func csvLineWithWrongFieldCountIsRejected() {
        expectMalformed("userId,movieId,rating,timestamp\n1,2,5,100\n1,2\n", file: "ratings.csv", line: 3,
                        offending: "1,2", reasonMentions: "found 2")
        expectMalformed("1,2,5,100\n1,2,5,100,7\n", file: "r.csv", line: 2, offending: "1,2,5,100,7",
                        reasonMentions: "found 5")
    }

    @Test func plainLineWithWrongFieldCountIsRejected() {
        expectMalformed("1 2\n1 2 3 4 5\n", file: "x.txt", format: .plain, line: 2, offending: "1 2 3 4 5",
                        reasonMentions: "found 5")
        expectMalformed("# header\n1 2\n7\n", file: "x.txt", line: 3, offending: "7", reasonMentions: "found 1")
    }

    @Test func emptyUserOrItemIdIsRejected() {
        expectMalformed("\t5\t3\t100\n", file: "u.data", format: .movielens, line: 1, offending: "\t5\t3\t100",
                        reasonMentions: "empty user")
        expectMalformed("1\t5\t3\t100\n2\t\t3\t100\n", file: "u.data", format: .movielens, line: 2,
                        offending: "2\t\t3\t100", reasonMentions: "empty item")
        expectMalformed("userId,movieId,rating\n1,,3\n", file: "r.csv", line: 2, offending: "1,,3",
                        reasonMentions: "empty item")
        expectMalformed("1,2,3\n ,2,3\n", file: "r.csv", line: 2, offending: " ,2,3", reasonMentions: "empty user")
    }

    @Test(arguments: ["abc", "nan", "NaN", "inf", "-inf", "1e999", "4stars"])
    func nonNumericOrNonFiniteRatingIsRejected(rating: String) {
        expectMalformed("1 2 4 10\n1 3 \(rating) 11\n", file: "p.txt", format: .plain, line: 2,
                        offending: "1 3 \(rating) 11", reasonMentions: "rating")
        expectMalformed("1,2,4,10\n1,3,\(rating),11\n", file: "r.csv", line: 2, offending: "1,3,\(rating),11",
                        reasonMentions: "rating")
        expectMalformed("1\t2\t4\t10\n1\t3\t\(rating)\t11\n", file: "u.data", line: 2,
                        offending: "1\t3\t\(rating)\t11", reasonMentions: "rating")
    }

    @Test func emptyRatingFieldIsRejected() {
        expectMalformed("1,2,4,10\n1,3,,11\n", file: "r.csv", line: 2, offending: "1,3,,11", reasonMentions: "rating")
        expectMalformed("1\t2\t4\t10\n1\t3\t\t11\n", file: "u.data", format: .movielens, line: 2,
                        offending: "1\t3\t\t11", reasonMentions: "rating")
    }

    @Test(arguments: ["abc", "12x", "1.5.2", "nan", "inf", "1e300"])
    func badTimestampIsRejected(ts: String) {
        expectMalformed("1\t2\t4\t10\n1\t3\t4\t\(ts)\n", file: "u.data", format: .movielens, line: 2,
                        offending: "1\t3\t4\t\(ts)", reasonMentions: "timestamp")
        expectMalformed("1 2 4 10\n# c\n1 3 4 \(ts)\n", file: "p.txt", line: 3, offending: "1 3 4 \(ts)",
                        reasonMentions: "timestamp")
    }

    @Test func emptyAndCommentOnlyFilesAreRejectedNamingTheFile() {
        for text in ["", "\n\n", "\r\n"] {
            let e = parseError(text, file: "empty.txt")
            #expect(e == .empty(file: "empty.txt"))
            #expect(e?.description.contains("empty.txt") == true)
        }
        let e = parseError("# only\n# comments\n\n", file: "c.txt")
        #expect(e == .empty(file: "c.txt"))
        // A CSV file holding only its header has no interactions either.
        #expect(parseError("userId,movieId,rating,timestamp\n", file: "h.csv") == .empty(file: "h.csv"))
    }

    @Test func allBelowMinimumRatingIsRejected() {
        let e = parseError("1 2 1\n1 3 2.5\n2 2 2\n", file: "low.txt", minRating: 3)
        guard case .nothingToSplit(let f, let reason)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(f == "low.txt")
        #expect(reason.contains("3"))   // three interactions dropped
        #expect(e!.description.contains("low.txt"))
    }

    @Test func longOffendingLinesAreClippedInTheMessage() {
        let long = "1 2 3 " + String(repeating: "9", count: 300)
        let e = parseError(long + "\n", file: "p.txt", format: .plain)
        guard case .malformedLine(_, 1, let t, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(t == long)                       // the error value keeps the full text
        // The message quotes a clipped copy of the line (the reason may still name the offending field).
        #expect(e!.description.hasSuffix("...\""))
        #expect(!e!.description.contains("\"" + long + "\""))
        #expect(e!.description.contains("\"" + long.prefix(117) + "...\""))
    }

    // MARK: - Good input

    @Test func crlfLineEndingsAreAccepted() throws {
        let log = try parseText("1\t2\t5\t100\r\n2\t3\t4\t101\r\n", file: "u.data")
        #expect(log.interactions.count == 2)
        #expect(log.items.raw == ["2", "3"])
        #expect(log.users.raw == ["1", "2"])
        #expect(log.interactions.map(\.timestamp) == [100, 101])
        #expect(log.interactions.map(\.rating) == [5, 4])

        let csv = try parseText("userId,movieId,rating,timestamp\r\n1,10,4.5,100\r\n2,10,3.0,90\r\n", file: "ratings.csv")
        #expect(csv.interactions.count == 2)
        #expect(csv.interactions.map(\.timestamp) == [100, 90])
        #expect(csv.interactions.map(\.rating) == [4.5, 3])
    }

    @Test func lineNumbersCountEveryPhysicalLineWithCRLF() {
        expectMalformed("1 2\r\n\r\n# c\r\n1 x y z w\r\n", file: "p.txt", line: 4, offending: "1 x y z w")
    }

    /// A UTF-8 byte order mark (files saved by some Windows editors) is not part of the first user id:
    /// otherwise user "1" of line 1 and user "1" of line 2 would be two users, and the id order lexicographic.
    @Test func byteOrderMarkIsIgnored() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("1\t2\t5\t100\n1\t3\t4\t101\n10\t2\t4\t102\n2\t2\t1\t103\n".utf8)
        let log = try InteractionLog.parse(bytes: bytes, file: "u.data")
        #expect(log.users.raw == ["1", "2", "10"])
        #expect(log.interactions.count == 4)
        let csv = try InteractionLog.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("userId,movieId,rating\n1,2,5\n".utf8), file: "r.csv")
        #expect(csv.interactions.count == 1 && csv.users.raw == ["1"])
    }

    @Test func csvHeaderIsSkippedAndDataIsRead() throws {
        let log = try parseText("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n7,31,4,5\n",
                                file: "ratings.csv")
        #expect(log.interactions.count == 3)
        #expect(log.users.raw == ["1", "7"])
        #expect(log.items.raw == ["31", "1029"])   // numeric order, not "1029" < "31"
        let x = log.interactions[0]
        #expect(x.user == 0 && x.item == 0 && x.rating == 2.5 && x.timestamp == 1_260_759_144)
    }

    @Test func csvColumnsAreReadByTheHeadersNamesNotByPosition() throws {
        let log = try parseText("movieId,timestamp,userId,rating\n31,1260759144,1,2.5\n1029,5,7,4\n", file: "swapped.csv")
        #expect(log.users.raw == ["1", "7"])
        #expect(log.items.raw == ["31", "1029"])
        let x = log.interactions[0]
        #expect(x.rating == 2.5 && x.timestamp == 1_260_759_144)
        // Without a timestamp column the line order stands in for time.
        let three = try parseText("user_id,item_id,Rating\n1,2,5\n", file: "three.csv")
        #expect(three.interactions.count == 1 && three.interactions[0].rating == 5)
    }

    @Test func anUnknownOrMissingHeaderColumnIsNamed() {
        expectMalformed("userId,title,rating\n1,Heat,4\n", file: "r.csv", line: 1, offending: "userId,title,rating",
                        reasonMentions: "unknown column 'title'")
        expectMalformed("userId,rating,timestamp\n1,4,5\n", file: "r.csv", line: 1, offending: "userId,rating,timestamp",
                        reasonMentions: "no item column")
        expectMalformed("userId,movieId,rating\n1,2,4,99\n", file: "r.csv", line: 2, offending: "1,2,4,99",
                        reasonMentions: "as the header line names")
    }

    @Test func csvWithoutHeaderKeepsItsFirstLine() throws {
        let numeric = try parseText("1,10,4,100\n2,10,3,90\n", file: "r.csv")
        #expect(numeric.interactions.count == 2)
        // Non-numeric ids: the first line is data, not a header, because its rating is a number.
        let named = try parseText("alice,matrix,5,100\nbob,matrix,4,101\n", file: "r.csv")
        #expect(named.interactions.count == 2)
        #expect(named.users.raw == ["alice", "bob"])
        // Three-field CSV lines (no timestamp) use line order as time.
        let three = try parseText("a,x,5\nb,y,4\n", file: "r.csv")
        #expect(three.interactions.map(\.timestamp) == [1, 2])
    }

    @Test func plainWithSpacesTabsAndComments() throws {
        let text = "# comment\n1  2\n\n  3\t4 5\n# another\n1 4 2.5 77\n"
        let log = try parseText(text, file: "data.txt")
        #expect(log.interactions.count == 3)
        #expect(log.users.raw == ["1", "3"])
        #expect(log.items.raw == ["2", "4"])
        let byPair = Dictionary(uniqueKeysWithValues: log.interactions.map { ("\(log.users.rawID($0.user))-\(log.items.rawID($0.item))", $0) })
        // Missing rating means 1; missing timestamp means the line number.
        #expect(byPair["1-2"]?.rating == 1)
        #expect(byPair["1-2"]?.timestamp == 2)
        #expect(byPair["3-4"]?.rating == 5)
        #expect(byPair["3-4"]?.timestamp == 4)
        #expect(byPair["1-4"]?.rating == 2.5)
        #expect(byPair["1-4"]?.timestamp == 77)
    }

    @Test func fractionalTimestampIsAcceptedAndTruncated() throws {
        let log = try parseText("1 2 3 1.5e3\n", file: "p.txt")
        #expect(log.interactions.first?.timestamp == 1500)
    }

    @Test func missingTimestampsUseLineOrderForTheHeldOutItem() throws {
        // Items in line order 9, 3, 5: the latest is "5", although "9" is the largest.
        let log = try parseText("1 9\n1 3\n\n1 5\n2 3\n2 9\n", file: "p.txt")
        #expect(log.interactions.map(\.timestamp) == [1, 2, 4, 5, 6])
        let split = try LeaveOneOutSplit.make(from: log, negatives: 0)
        #expect(split.shards[0].test?.item == dense(log.items, "5"))
        #expect(split.shards[0].train.map(\.item) == [dense(log.items, "9"), dense(log.items, "3")])
        #expect(split.shards[1].test?.item == dense(log.items, "9"))
    }

    @Test func duplicatesKeepTheLatestOccurrenceAndAreCounted() throws {
        let log = try parseText("1 2 3 100\n1 2 5 50\n1 2 4 200\n1 3 1 10\n2 2 2 5\n", file: "p.txt")
        #expect(log.interactions.count == 3)
        #expect(log.duplicatesDropped == 2)
        let u1i2 = log.interactions.first { $0.user == dense(log.users, "1") && $0.item == dense(log.items, "2") }
        #expect(u1i2?.rating == 4)
        #expect(u1i2?.timestamp == 200)

        // Without timestamps the later line is the latest; with equal timestamps too.
        let noTime = try parseText("1 2 3\n1 2 5\n", file: "p.txt")
        #expect(noTime.interactions.count == 1 && noTime.duplicatesDropped == 1)
        #expect(noTime.interactions[0].rating == 5)
        let sameTime = try parseText("1 2 3 7\n1 2 5 7\n", file: "p.txt")
        #expect(sameTime.interactions[0].rating == 5)
    }

    @Test func minimumRatingFiltersAndCounts() throws {
        let log = try parseText("1 2 5\n1 3 2\n2 2 4\n3 4 3.9\n", file: "p.txt", minRating: 4)
        #expect(log.interactions.count == 2)
        #expect(log.belowMinRating == 2)
        // Ids seen only on dropped lines are not in the maps.
        #expect(log.items.raw == ["2"])
        #expect(log.users.raw == ["1", "2"])
    }

    @Test func oneBasedNumericIdsMapToRawMinusOne() throws {
        var rng = SplitMix64(seed: 3)
        var lines: [String] = []
        for u in 1...12 { for i in 1...15 where rng.next(below: 3) == 0 || i == u { lines.append("\(u)\t\(i)\t4\t\(u * 100 + i)") } }
        lines += ["1\t13\t4\t1", "1\t14\t4\t1", "1\t15\t4\t1"]
        lines.shuffle(using: &rng)
        let log = try parseText(lines.joined(separator: "\n") + "\n", file: "u.data")
        #expect(log.userCount == 12)
        #expect(log.itemCount == 15)
        for u in 1...12 { #expect(log.users.dense(String(u)) == Int32(u - 1)) }
        for i in 1...15 { #expect(log.items.dense(String(i)) == Int32(i - 1)) }
        #expect(log.items.rawID(9) == "10")
    }

    @Test func idMapsAreNumericWhenAllIdsAreIntegersElseLexicographic() {
        #expect(IDMap(collecting: ["10", "9", "100", "1", "9"]).raw == ["1", "9", "10", "100"])
        #expect(IDMap(collecting: ["-2", "3", "0"]).raw == ["-2", "0", "3"])
        #expect(IDMap(collecting: ["b", "a", "c10", "c9"]).raw == ["a", "b", "c10", "c9"])
        #expect(IDMap(collecting: ["10", "9", "x"]).raw == ["10", "9", "x"])
        let m = IDMap(collecting: ["b", "a", "c"])
        #expect(m.dense("a") == 0 && m.dense("c") == 2 && m.dense("z") == nil)
        #expect(m.rawID(1) == "b")
    }

    /// Distinct raw ids with the same numeric value ("1", "01", "+1") are different ids; their dense order must
    /// not depend on Set iteration order (which Swift seeds per process), or two runs would number them
    /// differently. Ties are broken by the text.
    @Test func numericallyEqualIdsHaveADeterministicOrder() {
        let ids = ["0001", "2", "1", "001", "+1", "01", "00001", "02"]
        let want = ["+1", "00001", "0001", "001", "01", "1", "02", "2"]
        for _ in 0..<20 { #expect(IDMap(collecting: ids).raw == want) }
        for _ in 0..<20 { #expect(IDMap(collecting: ids.reversed()).raw == want) }
    }

    @Test func formatAutoDetection() {
        let lines: [(Int, String)] = [(1, "# c"), (2, "1\t2\t3\t4")]
        #expect(InteractionLog.detect(file: "u.data", lines: lines) == .movielens)
        #expect(InteractionLog.detect(file: "RATINGS.CSV", lines: lines) == .csv)
        #expect(InteractionLog.detect(file: "x", lines: [(1, "1,2,3")]) == .csv)
        #expect(InteractionLog.detect(file: "x", lines: [(1, "1 2 3 4")]) == .plain)
        #expect(InteractionLog.detect(file: "x", lines: [(1, "1\t2")]) == .plain)
        #expect(InteractionLog.detect(file: "x", lines: []) == .plain)
    }

    @Test func itemTitlesAreParsedAndMalformedLinesNamed() throws {
        let t = try ItemTitles.parse(bytes: Array("1\tToy Story (1995)\tAnimation\n2\tGoldenEye (1995)\r\n".utf8), file: "items.tsv")
        #expect(t["1"] == "Toy Story (1995)")
        #expect(t["2"] == "GoldenEye (1995)")
        #expect(t["3"] == nil)
        #expect(throws: DataError.malformedLine(file: "bad.tsv", line: 2, text: "no title here", reason: "expected item<TAB>title")) {
            try ItemTitles.parse(bytes: Array("1\tA\nno title here\n".utf8), file: "bad.tsv")
        }
    }

    @Test func aUserFileDeclaringTwoBillionItemsIsRefusedBeforeAnyAllocation() {
        let text = "# gossiprec user shard v1\nuser 0 raw 1\nitems 2000000000\ntrain 3 5 100\n"
        #expect(throws: DataError.malformedSplit(file: "user-0.txt", line: 3, text: "items 2000000000",
                                                reason: "items 2000000000 is above the limit of \(DataLimits.maxItems) items")) {
            try UserShard.parse(bytes: Array(text.utf8), file: "user-0.txt")
        }
    }
}
