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
    ///
    /// Large products are split across `Parallel.threads` workers — by rows of C, or by columns
    /// when C is wide and short (the logits) — each a single-threaded BLAS call. The BLAS library's
    /// own threads stay off: they spin while idle and would fight our workers for the cores.
    /// Callers that already split their work across the workers (one convolution image group per
    /// worker) pass `splitAcrossThreads: false`, where a nested split would only add dispatch.
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        splitAcrossThreads: Bool = true
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transposeA ? m : k)
        let ldb = ldb ?? (transposeB ? k : n)
        let ldc = ldc ?? n
        let workers = Parallel.threads
        guard splitAcrossThreads, workers > 1, m * n * k >= parallelThreshold else {
            sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if m >= n || m >= 64 * workers {
            // Rows of C ← rows of op(A): a row offset of A, or a column offset when transposed.
            Parallel.forEach(workers) { worker in
                let start = m * worker / workers, end = m * (worker + 1) / workers
                guard end > start else { return }
                sgemm(transposeA, transposeB, end - start, n, k, alpha,
                      a + (transposeA ? start : start * lda), lda, b, ldb, beta, c + start * ldc, ldc)
            }
        } else {
            // Columns of C ← columns of op(B): a column offset of B, or a row offset when transposed.
            Parallel.forEach(workers) { worker in
                let start = n * worker / workers, end = n * (worker + 1) / workers
                guard end > start else { return }
                sgemm(transposeA, transposeB, m, end - start, k, alpha,
                      a, lda, b + (transposeB ? start * ldb : start), ldb, beta, c + start, ldc)
            }
        }
    }

    /// Below this many multiply-adds a product runs on one thread: splitting costs more than it saves.
    public static let parallelThreshold = 1 << 20

    @inline(__always)
    private static func sgemm(
        _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
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
