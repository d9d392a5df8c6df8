import Testing
import RecommenderModel
@testable import GossipProtocol

/// `InterestDisclosure`: the decoy ratio, randomized response, the datagram cap and stickiness.
@Suite struct ClientGraphDisclosureTests {
    /// `count` distinct random items below `catalogue`.
    static func randomSet(_ count: Int, catalogue: Int, rng: inout SplitMix64) -> [UInt32] {
        var s = Set<UInt32>()
        while s.count < count { s.insert(UInt32(rng.next(below: catalogue))) }
        return s.sorted()
    }

    static func isStrictlyIncreasing(_ a: [UInt32]) -> Bool { zip(a, a.dropFirst()).allSatisfy { $0 < $1 } }

    @Test(arguments: [0.0, 0.5, 1.0, 3.0])
    func carriesAtLeastTheRequiredDecoysAndTheRealFractionIsOneOverOnePlusRho(_ rho: Double) {
        var rng = SplitMix64(seed: 11)
        var fractions: [Double] = []
        for trial in 0..<200 {
            let catalogue = 500 + rng.next(below: 2_000)
            let real = Self.randomSet(1 + rng.next(below: 70), catalogue: catalogue, rng: &rng)
            let d = InterestDisclosure.make(realItems: real, catalogueSize: catalogue,
                                            settings: DisclosureSettings(decoyRatio: rho), rng: &rng)
            let required = Int((rho * Double(real.count)).rounded(.up))
            #expect(d.decoys.count >= required, "trial \(trial): \(d.decoys.count) decoys < \(required)")
            #expect(d.decoyShortfall == 0)
            #expect(Set(d.decoys).isDisjoint(with: real), "a decoy is a real item")
            #expect(d.keptReal == real)
            #expect(d.items == (real + d.decoys).sorted())
            #expect(Self.isStrictlyIncreasing(d.items))
            #expect(d.items.allSatisfy { Int($0) < catalogue })
            #expect(d.realFraction <= 1 / (1 + rho) + 1e-12)
            fractions.append(d.realFraction)
        }
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 1 / (1 + rho)) < 0.02, "mean real fraction \(mean) at rho \(rho)")
    }

    @Test func theDropProbabilityLeavesOutThatShareOfRealItemsAndKeepsTheRatio() {
        var rng = SplitMix64(seed: 12)
        var kept = 0, total = 0
        for _ in 0..<200 {
            let real = Self.randomSet(50, catalogue: 3_000, rng: &rng)
            let d = InterestDisclosure.make(realItems: real, catalogueSize: 3_000,
                                            settings: DisclosureSettings(decoyRatio: 1, dropProbability: 0.3), rng: &rng)
            kept += d.keptReal.count
            total += real.count
            #expect(Set(d.keptReal).union(d.droppedReal) == Set(real))
            #expect(Set(d.items).isDisjoint(with: d.droppedReal), "a dropped real item was sent")
            #expect(d.decoys.count == d.keptReal.count)
        }
        #expect(abs(Double(kept) / Double(total) - 0.7) < 0.02)
    }

    @Test func thePrivacyKnobChangesWhatIsSent() {
        var rng = SplitMix64(seed: 13)
        let real = Self.randomSet(40, catalogue: 1_682, rng: &rng)
        var sent: [Double: [UInt32]] = [:]
        for rho in [0.0, 1.0, 3.0] {
            var r = SplitMix64(seed: 99)
            sent[rho] = InterestDisclosure.make(realItems: real, catalogueSize: 1_682,
                                                settings: DisclosureSettings(decoyRatio: rho), rng: &r).items
        }
        #expect(sent[0.0] == real, "without decoys the disclosure is the real set")
        #expect(sent[1.0]!.count == 80)
        #expect(sent[3.0]!.count == 160)
        #expect(sent[1.0] != sent[3.0])
        #expect(!Set(sent[1.0]!).subtracting(real).isEmpty)
    }

    @Test func aSmallCatalogueReportsTheDecoyShortfall() {
        var rng = SplitMix64(seed: 14)
        let real = (0..<UInt32(60)).map { $0 }
        let d = InterestDisclosure.make(realItems: real, catalogueSize: 100, settings: DisclosureSettings(decoyRatio: 1), rng: &rng)
        #expect(d.decoys.count == 40)
        #expect(d.decoyShortfall == 20)
        #expect(d.items == (0..<UInt32(100)).map { $0 })
    }

    @Test func largeDisclosuresAreSubsampledToTheDatagramCapKeepingTheMix() {
        var rng = SplitMix64(seed: 15)
        var fractions: [Double] = []
        for _ in 0..<50 {
            let real = Self.randomSet(200, catalogue: 5_000, rng: &rng)
            let d = InterestDisclosure.make(realItems: real, catalogueSize: 5_000, settings: DisclosureSettings(decoyRatio: 3), rng: &rng)
            #expect(d.items.count == Message.maxDisclosedItems)
            #expect(d.truncatedCount == 800 - Message.maxDisclosedItems)
            #expect(Self.isStrictlyIncreasing(d.items))
            fractions.append(d.realFraction)
        }
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 0.25) < 0.02, "mean real fraction after the cap: \(mean)")
    }

    @Test func repeatedDisclosuresKeepTheirDecoysSoIntersectionRevealsNothing() {
        var rng = SplitMix64(seed: 16)
        let settings = DisclosureSettings(decoyRatio: 1, dropProbability: 0.2)
        let real = Self.randomSet(40, catalogue: 1_000, rng: &rng)
        let first = InterestDisclosure.make(realItems: real, catalogueSize: 1_000, settings: settings, rng: &rng)
        let again = InterestDisclosure.make(realItems: real, catalogueSize: 1_000, settings: settings, rng: &rng, previous: first)
        #expect(again.items == first.items, "same real set, same disclosure")
        // Fresh (non-sticky) disclosures differ: intersecting them would strip most decoys.
        let fresh = InterestDisclosure.make(realItems: real, catalogueSize: 1_000, settings: settings, rng: &rng)
        #expect(Set(fresh.items).intersection(first.items).count < first.items.count)
        // Ten new interactions: old decoys and drop decisions stay, decoys are only topped up.
        let grown = real + Self.randomSet(10, catalogue: 1_000, rng: &rng).filter { !real.contains($0) }
        let next = InterestDisclosure.make(realItems: grown, catalogueSize: 1_000, settings: settings, rng: &rng, previous: first)
        #expect(Set(first.decoys).filter { !grown.contains($0) }.isSubset(of: next.decoys))
        #expect(Set(first.droppedReal).isSubset(of: next.droppedReal))
        #expect(Set(first.keptReal).isSubset(of: next.keptReal))
        #expect(next.decoys.count >= next.keptReal.count)
    }

    @Test func popularityMatchedDecoysFollowPopularityAndUniformOnesDoNot() {
        let n = 1_000
        let popularity = (0..<n).map { UInt32(10_000 / ($0 + 1)) }  // Zipf-like: item 0 most popular
        let real = (0..<UInt32(30)).map { $0 * 7 + 500 }           // mid-tail items, irrelevant here
        var rng = SplitMix64(seed: 17)
        func meanPopularity(_ s: DecoySampling) -> Double {
            var sum = 0.0, count = 0
            for _ in 0..<40 {
                let d = InterestDisclosure.make(realItems: real, catalogueSize: n,
                                                settings: DisclosureSettings(decoyRatio: 1, sampling: s), rng: &rng)
                #expect(Set(d.decoys).isDisjoint(with: real))
                #expect(d.decoys.count == 30)
                sum += d.decoys.reduce(0.0) { $0 + Double(popularity[Int($1)]) }
                count += d.decoys.count
            }
            return sum / Double(count)
        }
        let uniform = meanPopularity(.uniform)
        let matched = meanPopularity(.popularityMatched(popularity: popularity))
        #expect(matched > 5 * uniform, "popularity-matched decoys mean popularity \(matched) vs uniform \(uniform)")
    }

    @Test func settingsAreValidatedWithTheOffendingValue() {
        #expect(DisclosureSettings(decoyRatio: -1).validate()?.contains("-1") == true)
        #expect(DisclosureSettings(dropProbability: 1).validate()?.contains("drop probability") == true)
        #expect(DisclosureSettings(maxItems: 321).validate()?.contains("321") == true)
        #expect(DisclosureSettings(sampling: .popularityMatched(popularity: [1, 2])).validate(catalogueSize: 3)?
                .contains("2 entries") == true)
        #expect(DisclosureSettings().validate(catalogueSize: 10) == nil)
    }
}
