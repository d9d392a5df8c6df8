import RecommenderModel

/// The sending side of `GossipSettings.privacy` (`PrivacySettings`): what a peer does to its own table after a local
/// round, and which rows its pushes and answers carry. With every knob off nothing here changes anything.
extension GossipLearningInstance {
    /// (a)–(c) after a local round that started from `before` (`SendPrivacyState.afterRound`).
    mutating func protectRound(before: SendPrivacyState.Before, rule: any MergeRule) {
        let vote = (rule as? PushSumVoteMerge).map { (decay: $0.decay, weight: $0.positiveVote) }
        sendPrivacy.afterRound(settings.privacy, before: before, table: &learner.items, positivesSorted: learner.positivesSorted,
                               epochs: settings.localEpochs, vote: vote)
    }

    /// What a push carries: the whole copy (`snapshot`), or with `shareFraction` < 1 a random share of its rows.
    mutating func pushSnapshot() -> ModelPayload {
        let p = settings.privacy
        guard p.shareFraction < 1 else { return snapshot() }
        let rows = p.sampleRows(count: learner.items.itemCount, rng: &sendPrivacy.rng)
        return learner.payload(rows: rows.isEmpty ? [sendPrivacy.rng.next(below: learner.items.itemCount)] : rows)
    }

    /// The push to merge and this peer's answer (nil without `wantsReply`). Sharing everything: the push as it came
    /// and the whole copy. Sharing less: the answer carries the rows the push carried, or, when the push carried more
    /// than this peer's share (20% slack and 8 rows), a random share of them; the push is merged on those rows only, so
    /// both sides average the same rows (push-sum mass is conserved).
    mutating func answerRows(_ push: ModelPayload, wantsReply: Bool) -> (ModelPayload, ModelPayload?) {
        let p = settings.privacy
        guard p.shareFraction < 1, !push.items.isEmpty, learner.items.accepts(push) else {
            return (push, wantsReply ? snapshot() : nil)
        }
        let n = learner.items.itemCount
        var rows = push.items.map(Int.init)
        if Double(rows.count) > p.shareFraction * Double(n) * 1.2 + 8 {
            rows = p.sampleRows(count: n, from: rows, rng: &sendPrivacy.rng)
            if rows.isEmpty { rows = [Int(push.items[0])] }
        }
        let kept = rows.count == push.items.count ? push : Self.restrict(push, to: rows)
        return (kept, wantsReply ? learner.payload(rows: rows) : nil)
    }

    /// `payload`'s rows `rows` (a subset of its items, increasing).
    static func restrict(_ payload: ModelPayload, to rows: [Int]) -> ModelPayload {
        let w = Int(payload.dimension)
        var ids: [UInt32] = [], ws: [Float] = [], vals: [Float] = []
        ids.reserveCapacity(rows.count); ws.reserveCapacity(rows.count); vals.reserveCapacity(rows.count * w)
        var k = 0
        for (r, item) in payload.items.enumerated() where k < rows.count && Int(item) == rows[k] {
            ids.append(item); ws.append(payload.weights[r]); vals.append(contentsOf: payload.values[r * w..<(r + 1) * w])
            k += 1
        }
        return ModelPayload(itemCount: payload.itemCount, dimension: payload.dimension, round: payload.round, items: ids, weights: ws, values: vals)
    }
}
