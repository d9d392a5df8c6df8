import Testing
@testable import RecommenderModel

/// `ModelPayload.elementsVerified`: a cache of a passed element check, which a later check of the same copy skips.
/// It must never survive an edit, or an edited (poisoned) copy would be merged unchecked.
struct ModelChecksTests {
    private func builtPayload() -> ModelPayload {
        var rng = SplitMix64(seed: 3)
        let t = ItemTable(itemCount: 5, dimension: 4, initStd: 0.1, adagrad: false, rng: &rng)
        return t.payload(round: 2)
    }

    @Test func aBuiltPayloadIsVerifiedAndEveryEditOfItsElementsClearsIt() {
        #expect(builtPayload().elementsVerified)
        var p = builtPayload(); p.values[3] = .nan
        #expect(!p.elementsVerified && !ModelChecks.verify(&p))
        p = builtPayload(); p.weights[0] = -1
        #expect(!p.elementsVerified && !ModelChecks.verify(&p))
        p = builtPayload(); p.items[1] = 0
        #expect(!p.elementsVerified && !ModelChecks.verify(&p))
        p = builtPayload(); p.itemCount = 2
        #expect(!p.elementsVerified && !ModelChecks.verify(&p))
        p = builtPayload(); p.round = 9
        #expect(p.elementsVerified, "the clock is not an element")
    }

    @Test func verifyRecordsOnlyAPassAndEqualityIgnoresTheRecord() {
        let built = builtPayload()
        var fresh = ModelPayload(itemCount: built.itemCount, dimension: built.dimension, round: built.round,
                                 items: built.items, weights: built.weights, values: built.values)
        #expect(!fresh.elementsVerified)
        #expect(fresh == built && fresh.hashValue == built.hashValue)
        #expect(ModelChecks.verify(&fresh) && fresh.elementsVerified)
        var bad = fresh
        bad.values[0] = .infinity
        #expect(!ModelChecks.verify(&bad) && !bad.elementsVerified)
    }
}
