/// Allocator settings for a process that allocates and frees the same large activation buffers
/// over and over (every decoding step, every training step).
public enum Allocation {
    /// Keeps freed large blocks in the heap instead of returning them to the system. glibc maps
    /// blocks over 128 KB afresh and unmaps them on free, so each reuse would pay page faults and
    /// zeroing of every page; with a high threshold the same memory is reused at no cost.
    public static func reuseFreedMemory() {
        #if os(Linux)
        // glibc's <malloc.h> is not part of Swift's Glibc module; these are its values of
        // M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
        _ = glibcMallopt(-3, 512 << 20)  // M_MMAP_THRESHOLD
        _ = glibcMallopt(-1, 1 << 30)    // M_TRIM_THRESHOLD
        #endif
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
