import ArgumentParser
import Distributed
import Foundation
import NMT

/// What `nmt train` and `nmt bench train` do differently as ranks of an `mpirun` job.
enum DistributedTraining {
    /// The group this process trains in (itself alone unless mpirun started several). Ranks
    /// other than 0 print nothing on standard output from here on: rank 0 speaks for the job,
    /// and errors still reach standard error.
    static func join() throws -> TrainingGroup {
        let group: TrainingGroup
        do { group = try TrainingLaunch.group() } catch let error as LaunchError { throw CommandError(error.description) }
        if !group.isFirst, let null = fopen("/dev/null", "w") {
            fflush(stdout)
            dup2(fileno(null), STDOUT_FILENO)
        }
        return group
    }

    /// Runs `body`; in a job of several ranks an error on any rank ends the whole job with its
    /// message (the other ranks would otherwise wait for it in the next collective). An agreed
    /// interrupt (exit status 130, or 143 after SIGTERM) is not an error: every rank leaves the same way.
    static func run(in group: TrainingGroup, _ body: () throws -> Void) throws {
        guard group.isDistributed else { return try body() }
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            group.abort("Error: rank \(group.rank) of \(group.size): " + NMTCommand.message(for: CommandError.plain(error)))
        }
    }

    /// With `NMT_RANK_PARAMETERS_DIR` set, every rank writes its parameters' raw float32 bits to
    /// `rank-<r>.f32` there, to check that the ranks ended bit-identical.
    static func writeRankParameters(of model: Transformer, group: TrainingGroup) throws {
        guard let directory = ProcessInfo.processInfo.environment["NMT_RANK_PARAMETERS_DIR"] else { return }
        let parameters = model.parameters
        let data = Data(bytes: parameters.values, count: parameters.count * MemoryLayout<Float>.size)
        try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent("rank-\(group.rank).f32"))
    }
}
