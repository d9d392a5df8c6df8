/// Diagnostic lower bound: no merging at all, every peer learns alone on its own copy of the table.
/// On ML-100K (SGD lr 0.5) it stays at HR@10 ~0.10 (random ranking among 100), which shows that what gossip
/// runs reach comes from the shared item table and not from a peer's own data.
public struct NoMerge: MergeRule {
    public var name: String { "none" }
    public init() {}
    public func mergeAccepted(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64) {}
}

/// Diagnostic lower bound: item rows never move (each local epoch's item steps are undone), only the private
/// user vectors learn against the initial random table.
public struct FrozenItemsMerge: MergeRule {
    public var name: String { "frozen" }
    public init() {}
    public func mergeAccepted(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64) {}
    public var absorbsLocalEpochs: Bool { true }
    public func absorbLocalEpoch(_ epoch: EpochJournal, into table: inout ItemTable, positivesSorted: [Int32]) {
        epoch.restore(into: &table)
    }
}
