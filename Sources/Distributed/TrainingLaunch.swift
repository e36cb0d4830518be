import Foundation
import NMT

/// How this process was started: alone, or as one rank of a job that `mpirun` launched.
public enum TrainingLaunch {
    /// Whether this build can train data-parallel (it was built with the MPI trait).
    public static var supportsMPI: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The number of processes of the job, as the launcher announces it in the environment
    /// (Open MPI's `OMPI_COMM_WORLD_SIZE`; `PMI_SIZE` of MPICH and Slurm), or nil when no launcher
    /// started this process.
    public static var launchedSize: Int? {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].lazy.compactMap { environment[$0].flatMap(Int.init) }.first
    }

    /// The group this process trains in: the MPI job when `mpirun` started more than one
    /// process, otherwise this process alone (MPI is then never initialised, so the MPI build
    /// runs without `mpirun` as the plain one does).
    ///
    /// `collectiveTimeout`: how long a rank waits in a step's collective for the others before
    /// ending the job (see `MPITrainingGroup`).
    public static func group(collectiveTimeout: Double = defaultCollectiveTimeout) throws -> TrainingGroup {
        guard let size = launchedSize, size > 1 else { return SingleProcess() }
        #if MPI
        return try MPITrainingGroup(collectiveTimeout: collectiveTimeout)
        #else
        throw LaunchError(description: "this process is one of \(size) that mpirun started, but this nmt was built without MPI: build it with `swift build -c release --traits MPI` (Open MPI: apt install libopenmpi-dev openmpi-bin)")
        #endif
    }

    /// Seconds: `NMT_COLLECTIVE_TIMEOUT` from the environment, or 300.
    public static var defaultCollectiveTimeout: Double {
        ProcessInfo.processInfo.environment["NMT_COLLECTIVE_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 300
    }
}

/// Why a training group could not be set up.
public struct LaunchError: Error, CustomStringConvertible {
    public let description: String
}
