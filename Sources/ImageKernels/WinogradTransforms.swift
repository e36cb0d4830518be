import CWinograd
import Tensor

/// The transforms around the matrix products of the Winograd convolution
/// (`WinogradConvolution.swift`), eight tiles (or eight kernels) at a time, one SIMD lane each.
/// Blocks are gathered from, and scattered to, zero-bordered planes (`WinogradTiling`) through a
/// table of block offsets, so no transform needs a bounds check. F(4×4, 3×3), the one the
/// network's convolutions use, runs its transforms in C (CWinograd: the same formulas as straight-line
/// vector code, several times faster than these loops); the loops here serve any algorithm.

extension Kernels {
    typealias Lanes = SIMD8<Float>

    /// out (r × r) = T · X · Tᵀ for T (r × c) and X (c × c), on eight lanes; `temp` holds r × c.
    @inline(__always)
    static func sandwich(
        _ T: UnsafePointer<Float>, rows r: Int, columns c: Int,
        _ X: UnsafePointer<Lanes>, temp: UnsafeMutablePointer<Lanes>, into out: UnsafeMutablePointer<Lanes>
    ) {
        for i in 0..<r {
            for j in 0..<c {
                var sum = Lanes()
                for k in 0..<c { sum += T[i * c + k] * X[k * c + j] }
                temp[i * c + j] = sum
            }
        }
        for i in 0..<r {
            for j in 0..<r {
                var sum = Lanes()
                for k in 0..<c { sum += T[j * c + k] * temp[i * c + k] }
                out[i * r + j] = sum
            }
        }
    }

    @inline(__always)
    static func loadLanes(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, count: Int = 8) {
        if count == 8 {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
        } else {
            for j in 0..<count { p[j] = v[j] }
        }
    }

    /// Runs `body(X, temp, out, offsets)` with lane buffers for blocks of up to α × α and a table
    /// of `offsetCount` block offsets.
    @inline(__always)
    static func withWinogradBuffers(
        _ algorithm: WinogradAlgorithm, offsetCount: Int,
        _ body: (UnsafeMutablePointer<Lanes>, UnsafeMutablePointer<Lanes>, UnsafeMutablePointer<Lanes>, UnsafeMutablePointer<Int>) -> Void
    ) {
        let alpha2 = algorithm.inputTile * algorithm.inputTile
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 3 * alpha2) { lanes in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, offsetCount)) { offsets in
                let X = lanes.baseAddress!
                body(X, X + alpha2, X + 2 * alpha2, offsets.baseAddress!)
            }
        }
    }

    /// U[ξ][pair] = (G g Gᵀ)[ξ] for every 3×3 kernel g = W[pair], pairs = O · C; the pairs split
    /// across the threads.
    static func winogradTransformKernels(_ weight: UnsafePointer<Float>, pairs: Int, algorithm: WinogradAlgorithm, into U: UnsafeMutablePointer<Float>) {
        let alpha = algorithm.inputTile
        algorithm.kernelTransform.withUnsafeBufferPointer { G in
            Parallel.forEach((pairs + 7) / 8, minimumPerWorker: 256) { block in
                withWinogradBuffers(algorithm, offsetCount: 0) { X, temp, out, _ in
                    let values = UnsafeMutableRawPointer(X).assumingMemoryBound(to: Float.self)
                    let first = 8 * block, lanes = min(8, pairs - first)
                    for k in 0..<9 {
                        for j in 0..<8 { values[k * 8 + j] = j < lanes ? weight[(first + j) * 9 + k] : 0 }
                    }
                    sandwich(G.baseAddress!, rows: alpha, columns: 3, X, temp: temp, into: out)
                    for xi in 0..<(alpha * alpha) { storeLanes(out[xi], U + xi * pairs + first, count: lanes) }
                }
            }
        }
    }

    /// dW[pair] += Gᵀ dU[·][pair] G, the adjoint of `winogradTransformKernels`, where dU is the sum
    /// of `parts` partial sums `partStride` floats apart (one per worker of the backward pass).
    static func winogradKernelGradient(
        _ dU: UnsafePointer<Float>, parts: Int, partStride: Int, pairs: Int, algorithm: WinogradAlgorithm,
        into dWeight: UnsafeMutablePointer<Float>
    ) {
        let alpha = algorithm.inputTile
        algorithm.kernelTransformTransposed.withUnsafeBufferPointer { GT in
            Parallel.forEach((pairs + 7) / 8, minimumPerWorker: 256) { block in
                withWinogradBuffers(algorithm, offsetCount: 0) { X, temp, out, _ in
                    let values = UnsafeMutableRawPointer(X).assumingMemoryBound(to: Float.self)
                    let first = 8 * block, lanes = min(8, pairs - first)
                    for xi in 0..<(alpha * alpha) {
                        X[xi] = Lanes()
                        for part in 0..<parts {
                            let source = dU + part * partStride + xi * pairs + first
                            if lanes == 8 {
                                X[xi] += loadLanes(source)
                            } else {
                                for j in 0..<lanes { values[xi * 8 + j] += source[j] }
                            }
                        }
                    }
                    sandwich(GT.baseAddress!, rows: 3, columns: alpha, X, temp: temp, into: out)
                    for k in 0..<9 {
                        for j in 0..<lanes { dWeight[(first + j) * 9 + k] += out[k][j] }
                    }
                }
            }
        }
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the α×α padded-input block d of every tile t and channel c.
    static func winogradTransformInput(
        _ x: UnsafePointer<Float>, shape s: ConvolutionShape, tiling: WinogradTiling, algorithm: WinogradAlgorithm,
        plane: UnsafeMutablePointer<Float>, into V: UnsafeMutablePointer<Float>
    ) {
        let (C, width, rowStride) = (s.inChannels, tiling.paddedTiles, tiling.inWidth)
        let imagePlane = tiling.inHeight * tiling.inWidth
        plane.update(repeating: 0, count: tiling.inPlaneCount)
        let fast = algorithm == .f4x4
        let alpha = algorithm.inputTile
        algorithm.inputTransform.withUnsafeBufferPointer { BT in
            withWinogradBuffers(algorithm, offsetCount: width) { X, temp, out, offsets in
                tiling.blockOffsets(input: true, into: offsets)
                let values = UnsafeMutableRawPointer(X).assumingMemoryBound(to: Float.self)
                for c in 0..<C {
                    // The channel of every image into its plane's interior; the border stays zero.
                    for (i, n) in tiling.images.enumerated() {
                        let channel = x + (n * C + c) * s.inPixels, base = plane + i * imagePlane
                        for y in 0..<s.height {
                            (base + (y + 1) * rowStride + 1).update(from: channel + y * s.width, count: s.width)
                        }
                    }
                    if fast {
                        nmt_winograd4_transform_input(plane, offsets, rowStride, width, V + c * width, C * width)
                        continue
                    }
                    for first in stride(from: 0, to: width, by: 8) {
                        for j in 0..<8 {
                            let block = plane + offsets[first + j]
                            for r in 0..<alpha {
                                for q in 0..<alpha { values[(r * alpha + q) * 8 + j] = block[r * rowStride + q] }
                            }
                        }
                        sandwich(BT.baseAddress!, rows: alpha, columns: alpha, X, temp: temp, into: out)
                        for xi in 0..<(alpha * alpha) { storeLanes(out[xi], V + (xi * C + c) * width + first) }
                    }
                }
            }
        }
    }

    /// y[n][o] = Aᵀ M[·][o][t] A (+ b[o]) for every tile, cut to the map.
    static func winogradTransformOutput(
        _ M: UnsafePointer<Float>, shape s: ConvolutionShape, tiling: WinogradTiling, algorithm: WinogradAlgorithm,
        bias: UnsafePointer<Float>?, plane: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>
    ) {
        let (O, H, W) = (s.outChannels, s.outHeight, s.outWidth)
        let (width, rowStride, imagePlane) = (tiling.paddedTiles, tiling.outWidth, tiling.outHeight * tiling.outWidth)
        let fast = algorithm == .f4x4
        let (m, alpha) = (algorithm.outputTile, algorithm.inputTile)
        algorithm.outputTransform.withUnsafeBufferPointer { AT in
            withWinogradBuffers(algorithm, offsetCount: width) { X, temp, out, offsets in
                tiling.blockOffsets(input: false, into: offsets)
                for o in 0..<O {
                    for first in stride(from: 0, to: fast ? 0 : tiling.tiles, by: 8) {
                        for xi in 0..<(alpha * alpha) { X[xi] = loadLanes(M + (xi * O + o) * width + first) }
                        sandwich(AT.baseAddress!, rows: m, columns: alpha, X, temp: temp, into: out)
                        for j in 0..<min(8, tiling.tiles - first) {
                            let block = plane + offsets[first + j]
                            for a in 0..<m {
                                for b in 0..<m { block[a * rowStride + b] = out[a * m + b][j] }
                            }
                        }
                    }
                    if fast {
                        nmt_winograd4_transform_output(M + o * width, O * width, offsets, rowStride, tiling.tiles, plane)
                    }
                    let b = bias?[o] ?? 0
                    for (i, n) in tiling.images.enumerated() {
                        let channel = y + (n * O + o) * H * W, base = plane + i * imagePlane
                        for row in 0..<H {
                            let source = base + row * rowStride, target = channel + row * W
                            for column in 0..<W { target[column] = source[column] + b }
                        }
                    }
                }
            }
        }
    }

    /// dM[ξ][o][t] = (A dy Aᵀ)[ξ] for the m×m output-gradient block of every tile (zero past the
    /// map's edge), the adjoint of `winogradTransformOutput`.
    static func winogradTransformOutputGradient(
        _ dy: UnsafePointer<Float>, shape s: ConvolutionShape, tiling: WinogradTiling, algorithm: WinogradAlgorithm,
        plane: UnsafeMutablePointer<Float>, into dM: UnsafeMutablePointer<Float>
    ) {
        let (O, H, W) = (s.outChannels, s.outHeight, s.outWidth)
        let (width, rowStride, imagePlane) = (tiling.paddedTiles, tiling.outWidth, tiling.outHeight * tiling.outWidth)
        plane.update(repeating: 0, count: tiling.outPlaneCount)
        let fast = algorithm == .f4x4
        let (m, alpha) = (algorithm.outputTile, algorithm.inputTile)
        algorithm.outputTransformTransposed.withUnsafeBufferPointer { A in
            withWinogradBuffers(algorithm, offsetCount: width) { X, temp, out, offsets in
                tiling.blockOffsets(input: false, into: offsets)
                let values = UnsafeMutableRawPointer(X).assumingMemoryBound(to: Float.self)
                for o in 0..<O {
                    for (i, n) in tiling.images.enumerated() {
                        let channel = dy + (n * O + o) * H * W, base = plane + i * imagePlane
                        for row in 0..<H { (base + row * rowStride).update(from: channel + row * W, count: W) }
                    }
                    if fast {
                        nmt_winograd4_transform_output_gradient(plane, offsets, rowStride, width, dM + o * width, O * width)
                        continue
                    }
                    for first in stride(from: 0, to: width, by: 8) {
                        for j in 0..<8 {
                            let block = plane + offsets[first + j]
                            for a in 0..<m {
                                for b in 0..<m { values[(a * m + b) * 8 + j] = block[a * rowStride + b] }
                            }
                        }
                        sandwich(A.baseAddress!, rows: alpha, columns: m, X, temp: temp, into: out)
                        for xi in 0..<(alpha * alpha) { storeLanes(out[xi], dM + (xi * O + o) * width + first) }
                    }
                }
            }
        }
    }

    /// dx[n][c] (+)= Σ_tiles B dV[·][c][t] Bᵀ, each α×α block added where the tile's input block
    /// lies (neighbouring blocks overlap by two pixels; what falls on the border belongs to the
    /// padding and is dropped): the adjoint of `winogradTransformInput`.
    static func winogradFoldInputGradient(
        _ dV: UnsafePointer<Float>, shape s: ConvolutionShape, tiling: WinogradTiling, algorithm: WinogradAlgorithm,
        plane: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let (C, width, rowStride) = (s.inChannels, tiling.paddedTiles, tiling.inWidth)
        let imagePlane = tiling.inHeight * tiling.inWidth
        let fast = algorithm == .f4x4
        let alpha = algorithm.inputTile
        algorithm.inputTransformTransposed.withUnsafeBufferPointer { B in
            withWinogradBuffers(algorithm, offsetCount: width) { X, temp, out, offsets in
                tiling.blockOffsets(input: true, into: offsets)
                for c in 0..<C {
                    plane.update(repeating: 0, count: tiling.images.count * imagePlane)
                    if fast {
                        nmt_winograd4_fold_input_gradient(dV + c * width, C * width, offsets, rowStride, tiling.tiles, plane)
                    }
                    for first in stride(from: 0, to: fast ? 0 : tiling.tiles, by: 8) {
                        for xi in 0..<(alpha * alpha) { X[xi] = loadLanes(dV + (xi * C + c) * width + first) }
                        sandwich(B.baseAddress!, rows: alpha, columns: alpha, X, temp: temp, into: out)
                        for j in 0..<min(8, tiling.tiles - first) {
                            let block = plane + offsets[first + j]
                            for r in 0..<alpha {
                                for q in 0..<alpha { block[r * rowStride + q] += out[r * alpha + q][j] }
                            }
                        }
                    }
                    for (i, n) in tiling.images.enumerated() {
                        let channel = dx + (n * C + c) * s.inPixels, base = plane + i * imagePlane
                        for row in 0..<s.height {
                            let source = base + (row + 1) * rowStride + 1, target = channel + row * s.width
                            if accumulate {
                                for column in 0..<s.width { target[column] += source[column] }
                            } else {
                                target.update(from: source, count: s.width)
                            }
                        }
                    }
                }
            }
        }
    }
}
