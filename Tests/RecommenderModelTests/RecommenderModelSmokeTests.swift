import Testing
@testable import RecommenderModel

@Test func splitMixIsReproducibleFromItsSeed() {
    var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
    let xs = (0..<16).map { _ in a.next() }
    #expect(xs == (0..<16).map { _ in b.next() })
    #expect(xs != (0..<16).map { _ in c.next() })
    for _ in 0..<1000 { let v = a.next(below: 7); #expect(v >= 0 && v < 7) }
}
