import Foundation
import Testing
@testable import GossipRecCLI

@Suite struct PrivacyAuditCommandTests {
    func cliError(_ args: [String]) -> CLIError? {
        do { _ = try PrivacyAuditCommand.parse(args); return nil } catch let e as CLIError { return e } catch { return nil }
    }

    @Test func parsesTheAuditAndPrivacyOptionsOnTheEventEngine() throws {
        let c = try PrivacyAuditCommand.parse(["--synthetic", "100,40,4,8", "--duration", "90s", "--curious-fraction", "0.1",
                                               "--budgets", "10,1,10", "--spread-votes", "1", "--ldp-clip", "0.05", "--ldp-noise", "1",
                                               "--share-fraction", "0.5", "--pseudo-items", "2"])
        #expect(c.simulate.engine == .events && c.simulate.events.duration == .seconds(90))
        #expect(c.curiousFraction == 0.1 && c.budgets == [1, 10] && c.buckets == 10)
        let p = c.simulate.events.gossip.privacy
        #expect(p.spreadVotes == 1 && p.clipNorm == 0.05 && p.noiseMultiplier == 1 && p.shareFraction == 0.5 && p.pseudoItems == 2)
        #expect(PeerOptions.privacyName(p) == "spread=1.0,pseudo=2.0,clip=0.05,noise=1.0,share=0.5")
    }

    @Test func simulateAndTheDefaultsLeavePrivacyOff() throws {
        let c = try SimulateCommand.parse(["--engine", "events", "--synthetic", "100,40,4,8"])
        #expect(c.events.gossip.privacy == .off)
        #expect(PeerOptions.privacyName(.off) == "off")
    }

    @Test func badValuesNameTheFlag() {
        if case .badValue(let o, let v, _)? = cliError(["--synthetic", "100,40,4,8", "--budgets", "1,x"]) {
            #expect(o == "--budgets" && v == "1,x")
        } else { Issue.record("no error for a bad budget list") }
        if case .badValue(let o, _, _)? = cliError(["--synthetic", "100,40,4,8", "--ldp-noise", "1"]) {
            #expect(o == "--ldp-noise")   // noise needs a clip norm
        } else { Issue.record("no error for noise without clipping") }
        if case .badValue(let o, _, _)? = cliError(["--synthetic", "100,40,4,8", "--share-fraction", "0"]) {
            #expect(o == "--share-fraction")
        } else { Issue.record("no error for sharing nothing") }
    }

    @Test func aTinyAuditEndsWithJSON() throws {
        let c = try PrivacyAuditCommand.parse(["--synthetic", "30,40,4,8", "--duration", "20s", "--period-ms", "500",
                                               "--curious-fraction", "0.2", "--budgets", "1,5", "--skip-model-codec", "--threads", "1"])
        #expect(try c.run() == 0)
    }
}
