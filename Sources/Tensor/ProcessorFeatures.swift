import CKernels

/// What this processor runs, for choosing a kernel path: asked once each, because cpuid traps to
/// the hypervisor in a virtual machine. The probes are the C kernels' own (each checks the
/// instructions its kernels use and that the OS saves their registers).
enum ProcessorFeatures {
    #if arch(x86_64)
    /// AVX2 (the int8 AVX2 product).
    static let avx2 = nmt_int8_avx2_supported() != 0
    /// AVX2 and FMA (the packed float32 product).
    static let avx2FMA = nmt_f32_avx2_supported() != 0
    /// AVX-512 F, BW, VL and VNNI (the int8 VNNI product).
    static let avx512VNNI = nmt_int8_vnni_supported() != 0
    #else
    static let avx2 = false
    static let avx2FMA = false
    static let avx512VNNI = false
    #endif
}
