import Foundation

/// Memory figures for training.
public enum TrainingMemory {
    /// The peak resident set of this process so far, in MB (10⁶ bytes).
    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) * 1024 / 1e6  // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1e6  // bytes on Darwin
        #endif
    }
}
