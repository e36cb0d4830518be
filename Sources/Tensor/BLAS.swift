#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one seam to the BLAS library: every matrix product of the toolkit goes through here.
/// On Linux that is OpenBLAS; on Apple platforms the same `cblas_*` symbols come from Accelerate.
public enum BLAS {
    /// C (M, N) = alpha · op(A) · op(B) + beta · C, all row-major. op transposes when asked, through
    /// the BLAS flags rather than a copy. `lda`, `ldb`, `ldc` default to the packed row strides.
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transposeA ? m : k)
        let ldb = ldb ?? (transposeB ? k : n)
        let ldc = ldc ?? n
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// How many threads the BLAS library uses for one call.
    public static var threads: Int {
        get {
            #if canImport(Accelerate)
            return 1
            #else
            return Int(openblas_get_num_threads())
            #endif
        }
        set {
            #if !canImport(Accelerate)
            openblas_set_num_threads(Int32(max(1, newValue)))
            #endif
        }
    }
}
