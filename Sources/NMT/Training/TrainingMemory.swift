import Foundation

/// Process-level memory settings and figures for training.
public enum TrainingMemory {
    /// Keeps glibc from returning each step's activation buffers to the kernel and mapping them
    /// again the next step: large blocks come from the heap (not one mmap each) and the heap is not
    /// trimmed, so the pages of one step are reused by the next without page faults.
    public static func configureAllocator() {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let (trimThreshold, mmapThreshold): (Int32, Int32) = (-1, -3)  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 512 << 20)
        _ = mallopt(trimThreshold, 1 << 30)
        #endif
    }

    /// The peak resident set of this process so far, in MB (10⁶ bytes).
    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #if os(Linux)
        return Double(usage.ru_maxrss) * 1024 / 1e6  // kilobytes on Linux
        #else
        return Double(usage.ru_maxrss) / 1e6  // bytes on Darwin
        #endif
    }
}
