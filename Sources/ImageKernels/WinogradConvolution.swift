import Tensor

/// Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks", 2016) for the 3×3, stride-1, pad-1 convolutions that carry most of an image model's
/// multiplications.
///
/// Each m×m block ("tile") of the output is computed from the (m+2)×(m+2) block of padded input
/// around it, α = m + 2:
///
///     y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
///
/// g the 3×3 kernel, d the α×α input block, ⊙ the element-wise product. Summed over the input
/// channels, the α² element-wise products become α² matrix products, one for each position ξ of
/// the transformed block: M[ξ] (O × tiles) = U[ξ] (O × C) · V[ξ] (C × tiles). Per output pixel
/// that is α²/m² multiply-adds a channel pair instead of 9: 4 for F(2×2, 3×3), 2.25 for
/// F(4×4, 3×3), a little more where a map's size is not a multiple of m and edge tiles hang over.
///
/// The backward pass is the chain rule through the same linear maps, with the same products
/// transposed: dM = A dy Aᵀ; dV[ξ] = U[ξ]ᵀ dM[ξ], folded back onto the input by B dV Bᵀ;
/// dU[ξ] = Σ_tiles dM[ξ] V[ξ]ᵀ, turned into the kernel gradient by Gᵀ dU G.
///
/// Each transform is X ↦ T X Tᵀ for a small matrix T; they run on eight tiles (or eight kernels) at
/// once, one SIMD lane each. Tiles are numbered t = (image · tilesY + ty) · tilesX + tx within a
/// group of images, and rounded up to a multiple of 8 with lanes that read zeros. Scratch layout:
/// V and dV are α² planes of (C, tiles); M and dM α² planes of (O, tiles); U α² planes of (O, C).
public struct WinogradAlgorithm: Sendable, Equatable, CustomStringConvertible {
    /// m: the output tile's side.
    public let outputTile: Int
    /// Bᵀ (α × α), G (α × 3), Aᵀ (m × α), row-major, and their transposes for the backward pass.
    let inputTransform: [Float], inputTransformTransposed: [Float]
    let kernelTransform: [Float], kernelTransformTransposed: [Float]
    let outputTransform: [Float], outputTransformTransposed: [Float]

    init(outputTile m: Int, inputTransform: [Float], kernelTransform: [Float], outputTransform: [Float]) {
        let alpha = m + 2
        precondition(inputTransform.count == alpha * alpha && kernelTransform.count == alpha * 3 && outputTransform.count == m * alpha)
        outputTile = m
        self.inputTransform = inputTransform
        self.kernelTransform = kernelTransform
        self.outputTransform = outputTransform
        inputTransformTransposed = Self.transposed(inputTransform, rows: alpha, columns: alpha)
        kernelTransformTransposed = Self.transposed(kernelTransform, rows: alpha, columns: 3)
        outputTransformTransposed = Self.transposed(outputTransform, rows: m, columns: alpha)
    }

    /// α = m + 2: the input block's side, and the side of the transformed blocks.
    public var inputTile: Int { outputTile + 2 }
    public var description: String { "F(\(outputTile)×\(outputTile), 3×3)" }

    /// F(2×2, 3×3), interpolation points 0, ±1, ∞: transforms of 0, ±1 and ±½ only, so it rounds
    /// as the direct sum does.
    public static let f2x2 = WinogradAlgorithm(
        outputTile: 2,
        inputTransform: [1, 0, -1, 0,
                         0, 1, 1, 0,
                         0, -1, 1, 0,
                         0, 1, 0, -1],
        kernelTransform: [1, 0, 0,
                          0.5, 0.5, 0.5,
                          0.5, -0.5, 0.5,
                          0, 0, 1],
        outputTransform: [1, 1, 1, 0,
                          0, 1, -1, -1])

    /// F(4×4, 3×3), points 0, ±1, ±2, ∞: 2.25 multiply-adds a pixel instead of 4, for transforms
    /// with entries up to 8 and 1/24, which cost some precision (a few 1e-6 relative here).
    public static let f4x4 = WinogradAlgorithm(
        outputTile: 4,
        inputTransform: [4, 0, -5, 0, 1, 0,
                         0, -4, -4, 1, 1, 0,
                         0, 4, -4, -1, 1, 0,
                         0, -2, -1, 2, 1, 0,
                         0, 2, -1, -2, 1, 0,
                         0, 4, 0, -5, 0, 1],
        kernelTransform: [1.0 / 4, 0, 0,
                          -1.0 / 6, -1.0 / 6, -1.0 / 6,
                          -1.0 / 6, 1.0 / 6, -1.0 / 6,
                          1.0 / 24, 1.0 / 12, 1.0 / 6,
                          1.0 / 24, -1.0 / 12, 1.0 / 6,
                          0, 0, 1],
        outputTransform: [1, 1, 1, 1, 1, 0,
                          0, 1, -1, 2, -2, 0,
                          0, 1, 1, 4, 4, 0,
                          0, 1, -1, 8, -8, 1])

    public static func == (a: WinogradAlgorithm, b: WinogradAlgorithm) -> Bool { a.outputTile == b.outputTile }

    /// The (columns × rows) transpose of a row-major (rows × columns) matrix.
    static func transposed(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<(rows * columns)).map { i in matrix[(i % rows) * columns + i / rows] }
    }
}

extension ConvolutionShape {
    /// The Winograd algorithm `convolutionForward` and `convolutionBackward` use for this shape, or
    /// nil for the column-matrix path: a 3×3 "same" convolution with stride 1 and enough channels on
    /// both sides that the α² products are real matrix products (with the single input channel of
    /// a first layer they would be rank one).
    public var winogradAlgorithm: WinogradAlgorithm? {
        guard kernelSize == 3 && stride == 1 && padding == 1 && inChannels >= 16 && outChannels >= 16 else { return nil }
        return .f4x4
    }
}

/// The tiles of one group of images, and where each tile's blocks sit in the padded planes.
struct WinogradTiling {
    let m: Int, alpha: Int
    let tilesY: Int, tilesX: Int
    let images: Range<Int>
    /// Tiles of the group, and that count rounded up to whole SIMD groups (the planes' width).
    let tiles: Int, paddedTiles: Int
    /// One input channel of every image with a zero border: pixel (y, x) at (y + 1, x + 1) of an
    /// inHeight × inWidth plane, so each tile's α×α block is read without bounds checks; then α rows
    /// of zeros the padding lanes read.
    let inHeight: Int, inWidth: Int
    /// One output channel of every image on the tiles' m·tilesY × m·tilesX grid (past the map's
    /// edge: zeros in, ignored out); then m rows of zeros for the padding lanes.
    let outHeight: Int, outWidth: Int

    init(_ s: ConvolutionShape, algorithm: WinogradAlgorithm, images: Range<Int>) {
        m = algorithm.outputTile
        alpha = algorithm.inputTile
        tilesY = (s.height + m - 1) / m
        tilesX = (s.width + m - 1) / m
        self.images = images
        tiles = images.count * tilesY * tilesX
        paddedTiles = (tiles + 7) / 8 * 8
        inHeight = m * tilesY + 2
        inWidth = m * tilesX + 2
        outHeight = m * tilesY
        outWidth = m * tilesX
    }

    var inPlaneCount: Int { images.count * inHeight * inWidth + alpha * inWidth }
    var outPlaneCount: Int { images.count * outHeight * outWidth + m * outWidth }

    /// Where tile t's block starts in the padded input (`input: true`) or output planes; padding
    /// lanes point at the zero rows at the end.
    func blockOffsets(input: Bool, into offsets: UnsafeMutablePointer<Int>) {
        let (height, width) = input ? (inHeight, inWidth) : (outHeight, outWidth)
        for t in 0..<paddedTiles {
            guard t < tiles else { offsets[t] = images.count * height * width; continue }
            let image = t / (tilesY * tilesX), tile = t % (tilesY * tilesX)
            offsets[t] = image * height * width + m * (tile / tilesX) * width + m * (tile % tilesX)
        }
    }
}

extension Kernels {
    /// Tiles a group of images should give: wide enough for BLAS to run at speed, small enough
    /// that a group's transformed input and output (α² planes each) stay near the cache, and that
    /// a batch of 128 7×7 maps still makes two groups for two threads. (128 and 512 measured the
    /// same as 256 on one thread.)
    static let winogradTilesPerGroup = 256

    /// Floats of the transformed input of a whole batch, group after group, as the forward saves it.
    static func winogradSavedCount(_ s: ConvolutionShape, _ algorithm: WinogradAlgorithm) -> Int {
        let G = winogradImagesPerGroup(s, algorithm)
        let tiles = WinogradTiling(s, algorithm: algorithm, images: 0..<G).paddedTiles
        return (s.batch + G - 1) / G * algorithm.inputTile * algorithm.inputTile * s.inChannels * tiles
    }

    static func winogradImagesPerGroup(_ s: ConvolutionShape, _ algorithm: WinogradAlgorithm) -> Int {
        let m = algorithm.outputTile
        let tilesPerImage = ((s.height + m - 1) / m) * ((s.width + m - 1) / m)
        return max(1, min(s.batch, winogradTilesPerGroup / tilesPerImage))
    }

    /// y (N, O, H, W) = conv(x (N, C, H, W), W (O, C, 3, 3), stride 1, pad 1) + b (O).
    public static func winogradConvolutionForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        shape s: ConvolutionShape, y: UnsafeMutablePointer<Float>, algorithm: WinogradAlgorithm,
        saving: UnsafeMutablePointer<Float>? = nil
    ) {
        precondition(s.kernelSize == 3 && s.stride == 1 && s.padding == 1, "Winograd \(algorithm) needs a 3×3 kernel, stride 1, pad 1")
        let (C, O, alpha2) = (s.inChannels, s.outChannels, algorithm.inputTile * algorithm.inputTile)
        let U = UnsafeMutablePointer<Float>.allocate(capacity: alpha2 * O * C)
        defer { U.deallocate() }
        winogradTransformKernels(weight, pairs: O * C, algorithm: algorithm, into: U)
        let G = winogradImagesPerGroup(s, algorithm)
        let largest = WinogradTiling(s, algorithm: algorithm, images: 0..<G)
        // V lives in scratch only when the backward pass does not keep it.
        let scratchV = saving == nil ? alpha2 * C * largest.paddedTiles : 0
        let scratchCount = scratchV + alpha2 * O * largest.paddedTiles + largest.inPlaneCount + largest.outPlaneCount
        forEachGroup(s, groupSize: G, scratchCount: scratchCount) { first, count, scratch in
            let tiling = WinogradTiling(s, algorithm: algorithm, images: first..<(first + count))
            let tiles = tiling.paddedTiles
            let M = scratch + scratchV
            let inPlane = M + alpha2 * O * largest.paddedTiles, outPlane = inPlane + largest.inPlaneCount
            // The transformed input goes to the group's saved block when the backward wants it.
            let V = saving.map { $0 + first / G * alpha2 * C * largest.paddedTiles } ?? scratch
            winogradTransformInput(x, shape: s, tiling: tiling, algorithm: algorithm, plane: inPlane, into: V)
            for xi in 0..<alpha2 {
                BLAS.gemm(transposeA: false, transposeB: false, m: O, n: tiles, k: C,
                          a: U + xi * O * C, b: V + xi * C * tiles, c: M + xi * O * tiles, splitAcrossThreads: false)
            }
            winogradTransformOutput(M, shape: s, tiling: tiling, algorithm: algorithm, bias: bias, plane: outPlane, into: y)
        }
    }

    /// Backward of `winogradConvolutionForward`: dx (+)= the input gradient, dW += the kernel
    /// gradient, db += Σ dy, each computed only when its pointer is given.
    public static func winogradConvolutionBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, shape s: ConvolutionShape,
        dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        algorithm: WinogradAlgorithm, saved: UnsafePointer<Float>? = nil
    ) {
        precondition(s.kernelSize == 3 && s.stride == 1 && s.padding == 1, "Winograd \(algorithm) needs a 3×3 kernel, stride 1, pad 1")
        let (C, O, P, alpha2) = (s.inChannels, s.outChannels, s.outPixels, algorithm.inputTile * algorithm.inputTile)
        let U = UnsafeMutablePointer<Float>.allocate(capacity: dx == nil ? 1 : alpha2 * O * C)
        defer { U.deallocate() }
        if dx != nil { winogradTransformKernels(weight, pairs: O * C, algorithm: algorithm, into: U) }
        let G = winogradImagesPerGroup(s, algorithm)
        let groups = (s.batch + G - 1) / G
        let workers = max(1, min(Parallel.threads, groups))
        // Each worker sums its own dU (in the transformed domain, α² planes of (O, C)) and db.
        let partialCount = alpha2 * O * C + O
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * partialCount)
        partials.initialize(repeating: 0, count: workers * partialCount)
        defer { partials.deallocate() }
        let largest = WinogradTiling(s, algorithm: algorithm, images: 0..<G)
        Parallel.forEach(workers) { worker in
            // V (unless saved) | dM | dV | input plane | output plane
            let tiles = largest.paddedTiles
            // Room to rebuild V only when the kernel gradient needs it and the forward did not keep it.
            let rebuiltCount = dWeight != nil && saved == nil ? alpha2 * C * tiles : 0
            let scratch = UnsafeMutablePointer<Float>.allocate(
                capacity: rebuiltCount + alpha2 * (C + O) * tiles + largest.inPlaneCount + largest.outPlaneCount)
            defer { scratch.deallocate() }
            let rebuilt = scratch, dM = rebuilt + rebuiltCount, dV = dM + alpha2 * O * tiles
            let inPlane = dV + alpha2 * C * tiles, outPlane = inPlane + largest.inPlaneCount
            let dUPart = partials + worker * partialCount, dBiasPart = dUPart + alpha2 * O * C
            for group in (groups * worker / workers)..<(groups * (worker + 1) / workers) {
                let tiling = WinogradTiling(s, algorithm: algorithm, images: (group * G)..<min(s.batch, group * G + G))
                // The planes of this group are `width` wide, the buffers sized for the widest group.
                let width = tiling.paddedTiles
                winogradTransformOutputGradient(dy, shape: s, tiling: tiling, algorithm: algorithm, plane: outPlane, into: dM)
                if dBias != nil {
                    for n in tiling.images {
                        for o in 0..<O {
                            let row = dy + (n * O + o) * P
                            var sum: Float = 0
                            for p in 0..<P { sum += row[p] }
                            dBiasPart[o] += sum
                        }
                    }
                }
                if dWeight != nil {
                    let V: UnsafePointer<Float>
                    if let saved {
                        V = saved + group * alpha2 * C * tiles
                    } else {
                        winogradTransformInput(x, shape: s, tiling: tiling, algorithm: algorithm, plane: inPlane, into: rebuilt)
                        V = UnsafePointer(rebuilt)
                    }
                    for xi in 0..<alpha2 {
                        BLAS.gemm(transposeA: false, transposeB: true, m: O, n: C, k: width,
                                  a: dM + xi * O * width, b: V + xi * C * width, beta: 1, c: dUPart + xi * O * C,
                                  splitAcrossThreads: false)
                    }
                }
                guard let dx else { continue }
                for xi in 0..<alpha2 {
                    BLAS.gemm(transposeA: true, transposeB: false, m: C, n: width, k: O,
                              a: U + xi * O * C, b: dM + xi * O * width, c: dV + xi * C * width, splitAcrossThreads: false)
                }
                winogradFoldInputGradient(dV, shape: s, tiling: tiling, algorithm: algorithm, plane: inPlane,
                                          into: dx, accumulate: accumulate)
            }
        }
        if let dWeight {
            // dW += Gᵀ (Σ of the workers' dU) G, kernel by kernel.
            winogradKernelGradient(partials, parts: workers, partStride: partialCount, pairs: O * C, algorithm: algorithm, into: dWeight)
        }
        if let dBias {
            for worker in 0..<workers {
                let part = partials + worker * partialCount + alpha2 * O * C
                for o in 0..<O { dBias[o] += part[o] }
            }
        }
    }
}
