import Foundation

/// The processes that train one model together by data parallelism, as the trainer sees them:
/// each holds the whole model, computes the gradient of its share of every batch, and the shares
/// are summed so that every process applies the same update.
///
/// The engine knows only this protocol; the MPI implementation lives in the `Distributed` module,
/// linked into builds with the `MPI` trait. Every method is collective: all ranks call it at the
/// same point of the program, in the same order. An implementation that cannot complete a
/// collective (a failed or stuck peer) ends the whole job with one line on standard error rather
/// than returning or hanging, so callers never see a partial result.
public protocol TrainingGroup: AnyObject {
    /// This process's number, 0 ..< size. Rank 0 alone logs, validates and writes files.
    var rank: Int { get }
    /// How many processes train together.
    var size: Int { get }
    /// Replaces `count` floats at `buffer` by their sum over all ranks. Every rank receives the
    /// same bits, so parameters updated from the sum stay bit-identical across ranks.
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// The element-wise sum of `values` over all ranks (the same length on every rank).
    func allReduceSum(_ values: [Double]) -> [Double]
    /// Rank 0's `values` on every rank. Waits without a time limit and without spinning: the
    /// other ranks call it while rank 0 validates or writes a checkpoint.
    func broadcastFromFirst(_ values: [Double]) -> [Double]
    /// Ends every process of the job with `message` on standard error and exit status 1.
    func abort(_ message: String) -> Never
}

extension TrainingGroup {
    public var isFirst: Bool { rank == 0 }
    public var isDistributed: Bool { size > 1 }

    /// True on every rank when it is true on any (a stop request that reached some ranks only).
    public func any(_ flag: Bool) -> Bool {
        guard isDistributed else { return flag }
        return allReduceSum([flag ? 1 : 0])[0] > 0
    }

    /// Rank 0's flag on every rank.
    public func firstRanks(_ flag: Bool) -> Bool {
        guard isDistributed else { return flag }
        return broadcastFromFirst([flag ? 1 : 0])[0] != 0
    }

    /// Whether every rank holds the same `value` (e.g. a hash of its parameters); the same answer
    /// on every rank.
    public func allAgree(on value: UInt64) -> Bool {
        guard isDistributed else { return true }
        // Two 32-bit halves: each is exact in a Double.
        let first = broadcastFromFirst([Double(value >> 32), Double(value & 0xFFFF_FFFF)])
        let same = UInt64(first[0]) << 32 | UInt64(first[1]) == value
        return allReduceSum([same ? 0 : 1])[0] == 0
    }
}

/// One process training alone: every collective is the identity.
public final class SingleProcess: TrainingGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func allReduceSum(_ values: [Double]) -> [Double] { values }
    public func broadcastFromFirst(_ values: [Double]) -> [Double] { values }
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}

/// 64-bit FNV-1a, taking a float's 32 bits at a time, over `count` floats: a fingerprint of a parameter buffer, for
/// checking that ranks hold identical parameters.
public func parameterFingerprint(_ values: UnsafePointer<Float>, count: Int) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for i in 0..<count {
        hash = (hash ^ UInt64(values[i].bitPattern)) &* 0x0000_0100_0000_01B3
    }
    return hash
}
