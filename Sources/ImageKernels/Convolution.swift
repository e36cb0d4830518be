import Tensor

/// The geometry of a 2-D convolution over NCHW tensors, as PyTorch's `Conv2d` with a square kernel,
/// one stride and one zero padding for both axes (no dilation, no groups).
///
/// Dimensions: N batch, C input channels, H × W input pixels, O output channels, K kernel size,
/// Ho × Wo output pixels. The column matrix of one image ("im2col") is (C·K·K, Ho·Wo): row
/// (c, ky, kx) holds the input pixel each output pixel sees through that kernel tap, so the
/// convolution of one image is one matrix product W (O, C·K·K) · columns.
public struct ConvolutionShape: Sendable, Equatable {
    public let batch: Int
    public let inChannels: Int
    public let height: Int
    public let width: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int) {
        precondition(batch >= 0 && inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
                     "convolution: invalid geometry")
        precondition(height + 2 * padding >= kernelSize && width + 2 * padding >= kernelSize,
                     "convolution: a \(kernelSize)×\(kernelSize) kernel does not fit \(height)×\(width) padded by \(padding)")
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public var outHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    /// Ho · Wo, the columns of the column matrix.
    public var outPixels: Int { outHeight * outWidth }
    /// H · W.
    public var inPixels: Int { height * width }
    /// C · K · K, the rows of the column matrix and the columns of the weight matrix.
    public var patchSize: Int { inChannels * kernelSize * kernelSize }
    /// A 1×1 convolution with stride 1 and no padding reads its input as the column matrix itself.
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }
}

extension Kernels {
    /// columns (C·K·K, ·) ← the patches of one image x (C, H, W), Ho·Wo values a row starting at
    /// `columns`, rows `rowStride` apart (Ho·Wo for one image alone; G·Ho·Wo when G images sit side
    /// by side); zero where a tap falls in the padding.
    public static func im2col(_ x: UnsafePointer<Float>, shape s: ConvolutionShape, columns: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let (K, Ho, Wo) = (s.kernelSize, s.outHeight, s.outWidth)
        let rowStride = rowStride ?? Ho * Wo
        // A stride-1 "same" convolution (3×3 pad 1): each tap's block is the plane shifted.
        let samePadding = s.stride == 1 && Ho == s.height && Wo == s.width
        for c in 0..<s.inChannels {
            let plane = x + c * s.inPixels
            for ky in 0..<K {
                for kx in 0..<K {
                    let row = columns + ((c * K + ky) * K + kx) * rowStride
                    if samePadding {
                        shiftedPlane(plane, shape: s, dy: ky - s.padding, dx: kx - s.padding, into: row)
                        continue
                    }
                    // Output columns whose input column ox·stride − padding + kx lies inside the image.
                    let (first, end) = validRange(outSize: Wo, inSize: s.width, offset: kx - s.padding, stride: s.stride)
                    for oy in 0..<Ho {
                        let out = row + oy * Wo
                        let iy = oy * s.stride - s.padding + ky
                        guard iy >= 0 && iy < s.height, first < end else {
                            for ox in 0..<Wo { out[ox] = 0 }
                            continue
                        }
                        let source = plane + iy * s.width + kx - s.padding
                        for ox in 0..<first { out[ox] = 0 }
                        if s.stride == 1 {
                            for ox in first..<end { out[ox] = source[ox] }
                        } else {
                            for ox in first..<end { out[ox] = source[ox * s.stride] }
                        }
                        for ox in end..<Wo { out[ox] = 0 }
                    }
                }
            }
        }
    }

    /// out (H·W) ← the plane (H, W) shifted by (dy, dx): out[y, x] = plane[y + dy, x + dx], zero
    /// outside the plane. Flattened, the shift is one contiguous copy of H·W − |dy·W + dx| values;
    /// the values that wrapped into the next or previous row are then zeroed, one per row for |dx| = 1.
    @inline(__always)
    static func shiftedPlane(_ plane: UnsafePointer<Float>, shape s: ConvolutionShape, dy: Int, dx: Int, into out: UnsafeMutablePointer<Float>) {
        let (H, W) = (s.height, s.width)
        let P = H * W, shift = dy * W + dx
        // out[j] = plane[j + shift] for j with 0 ≤ j + shift < P.
        let first = max(0, -shift), end = min(P, P - shift)
        if first > 0 { out.update(repeating: 0, count: min(first, P)) }
        if end > first { (out + first).update(from: plane + first + shift, count: end - first) }
        if end < P { (out + max(end, 0)).update(repeating: 0, count: P - max(end, 0)) }
        // Whole rows whose source row lies outside the plane (only partly covered by the range above).
        let validRows = max(0, -dy)..<max(max(0, -dy), min(H, H - dy))
        if validRows.lowerBound > 0 { out.update(repeating: 0, count: min(P, validRows.lowerBound * W)) }
        if validRows.isEmpty { out.update(repeating: 0, count: P); return }
        if validRows.upperBound < H { (out + validRows.upperBound * W).update(repeating: 0, count: (H - validRows.upperBound) * W) }
        // Columns whose source column lies outside the row: they read the neighbouring row.
        let validColumns = max(0, -dx)..<max(max(0, -dx), min(W, W - dx))
        for y in validRows {
            let r = out + y * W
            for x in 0..<min(W, validColumns.lowerBound) { r[x] = 0 }
            for x in min(W, validColumns.upperBound)..<W { r[x] = 0 }
        }
    }

    /// dx (C, H, W) += the column-matrix gradient of one image folded back onto its pixels (the
    /// adjoint of `im2col`: each tap adds into the pixel it read); rows `rowStride` apart.
    public static func col2imAdd(_ dColumns: UnsafePointer<Float>, shape s: ConvolutionShape, dx: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let (K, Ho, Wo) = (s.kernelSize, s.outHeight, s.outWidth)
        let rowStride = rowStride ?? Ho * Wo
        for c in 0..<s.inChannels {
            let plane = dx + c * s.inPixels
            for ky in 0..<K {
                for kx in 0..<K {
                    let row = dColumns + ((c * K + ky) * K + kx) * rowStride
                    let (first, end) = validRange(outSize: Wo, inSize: s.width, offset: kx - s.padding, stride: s.stride)
                    guard first < end else { continue }
                    for oy in 0..<Ho {
                        let iy = oy * s.stride - s.padding + ky
                        guard iy >= 0 && iy < s.height else { continue }
                        let source = row + oy * Wo
                        let target = plane + iy * s.width + kx - s.padding
                        if s.stride == 1 {
                            for ox in first..<end { target[ox] += source[ox] }
                        } else {
                            for ox in first..<end { target[ox * s.stride] += source[ox] }
                        }
                    }
                }
            }
        }
    }

    /// The output positions o in 0..<outSize with 0 ≤ o·stride + offset < inSize, as first..<end.
    @inline(__always)
    static func validRange(outSize: Int, inSize: Int, offset: Int, stride: Int) -> (Int, Int) {
        // o ≥ ceil(−offset / stride) and o ≤ floor((inSize − 1 − offset) / stride).
        let first = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let lastInside = inSize - 1 - offset
        let end = lastInside < 0 ? 0 : min(outSize, lastInside / stride + 1)
        return (min(first, end), end)
    }

    /// How many images one matrix product covers: enough that it has ~196 columns (G·Ho·Wo), as a
    /// 14×14 map has alone. On a 7×7 map one image gives products only 49 wide, where BLAS runs
    /// below speed and the weight gradient of every image reads and writes all of dW.
    public static func imagesPerProduct(_ s: ConvolutionShape) -> Int {
        max(1, min(s.batch, 196 / max(1, s.outPixels)))
    }

    /// y (N, O, Ho, Wo) = conv(x (N, C, H, W), W (O, C, K, K)) + b (O): by Winograd's minimal
    /// filtering where it suits the shape (`winogradAlgorithm`), otherwise through column matrices.
    ///
    /// `saving` (`convolutionSavedCount` floats) receives the work the kernel gradient needs again
    /// (the transformed input, or the column matrices), for `convolutionBackward(saved:)`.
    public static func convolutionForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        shape s: ConvolutionShape, y: UnsafeMutablePointer<Float>, saving: UnsafeMutablePointer<Float>? = nil
    ) {
        if let algorithm = s.winogradAlgorithm {
            winogradConvolutionForward(x: x, weight: weight, bias: bias, shape: s, y: y, algorithm: algorithm, saving: saving)
        } else {
            im2colConvolutionForward(x: x, weight: weight, bias: bias, shape: s, y: y, saving: saving)
        }
    }

    /// Floats of the forward's work a training step keeps for the kernel gradient, so the backward
    /// pass does not rebuild it: the Winograd path's transformed input (α²/m² times the input) or
    /// the column matrices (K² times); 0 when there is none (a pointwise convolution reads its input
    /// as it is).
    public static func convolutionSavedCount(_ s: ConvolutionShape) -> Int {
        if let algorithm = s.winogradAlgorithm { return winogradSavedCount(s, algorithm) }
        let G = imagesPerProduct(s)
        if G == 1 && s.isPointwise { return 0 }
        return (s.batch + G - 1) / G * s.patchSize * G * s.outPixels
    }

    /// Backward of `convolutionForward`, by the same method: dx (+)= the input gradient, dW += the
    /// kernel gradient, db += Σ dy, each computed only when its pointer is given.
    /// `saved`: what `convolutionForward(saving:)` kept, or nil to rebuild it from x.
    public static func convolutionBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, shape s: ConvolutionShape,
        dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>? = nil
    ) {
        if let algorithm = s.winogradAlgorithm {
            winogradConvolutionBackward(x: x, weight: weight, shape: s, dy: dy, dx: dx, accumulate: accumulate,
                                        dWeight: dWeight, dBias: dBias, algorithm: algorithm, saved: saved)
        } else {
            im2colConvolutionBackward(x: x, weight: weight, shape: s, dy: dy, dx: dx, accumulate: accumulate,
                                      dWeight: dWeight, dBias: dBias, saved: saved)
        }
    }

    /// y (N, O, Ho, Wo) = conv(x (N, C, H, W), W (O, C, K, K)) + b (O) through column matrices,
    /// for any kernel size, stride and padding.
    ///
    /// The images go in groups of G (`imagesPerProduct`), the groups split across the workers; each
    /// worker expands a group into a column matrix (C·K·K, G·Ho·Wo) in its own scratch and computes
    /// one product W · columns with a single-threaded BLAS call.
    public static func im2colConvolutionForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        shape s: ConvolutionShape, y: UnsafeMutablePointer<Float>, saving: UnsafeMutablePointer<Float>? = nil
    ) {
        let (O, P, CKK, G) = (s.outChannels, s.outPixels, s.patchSize, imagesPerProduct(s))
        let (inputSize, outputSize) = (s.inChannels * s.inPixels, O * P)
        // One image of a pointwise convolution is its own column matrix, and writes straight into y.
        let direct = G == 1
        // The column matrix lives in scratch unless it reads x directly or goes to `saving`.
        let columnCount = direct && s.isPointwise || saving != nil ? 0 : CKK * G * P
        let scratchCount = columnCount + (direct ? 0 : O * G * P)
        forEachGroup(s, groupSize: G, scratchCount: scratchCount) { first, count, scratch in
            let width = count * P
            let columns: UnsafePointer<Float>
            if direct && s.isPointwise {
                columns = x + first * inputSize
            } else {
                // The group's column matrix, in the saved block of its group when the backward wants it.
                let target = saving.map { $0 + first / G * CKK * G * P } ?? scratch
                for i in 0..<count { im2col(x + (first + i) * inputSize, shape: s, columns: target + i * P, rowStride: width) }
                columns = UnsafePointer(target)
            }
            let out = direct ? y + first * outputSize : scratch + columnCount
            if let bias {
                for o in 0..<O { (out + o * width).update(repeating: bias[o], count: width) }
            }
            BLAS.gemm(transposeA: false, transposeB: false, m: O, n: width, k: CKK,
                            a: weight, b: columns, beta: bias == nil ? 0 : 1, c: out, splitAcrossThreads: false)
            if !direct {
                // (O, G·P) → G images of (O, P).
                for i in 0..<count {
                    for o in 0..<O { (y + (first + i) * outputSize + o * P).update(from: out + o * width + i * P, count: P) }
                }
            }
        }
    }

    /// Backward of `im2colConvolutionForward`: dx (+)= col2im(Wᵀ · dy), dW += Σ_groups dy_g · columns_gᵀ,
    /// db += Σ over images and pixels of dy. The column matrices come from `saved` (the forward's,
    /// K² times the input's memory) or are rebuilt.
    public static func im2colConvolutionBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, shape s: ConvolutionShape,
        dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>? = nil
    ) {
        let (O, P, CKK, G) = (s.outChannels, s.outPixels, s.patchSize, imagesPerProduct(s))
        let (inputSize, outputSize) = (s.inChannels * s.inPixels, O * P)
        let direct = G == 1
        let groups = (s.batch + G - 1) / G
        let workers = max(1, min(Parallel.threads, groups))
        // Each worker sums its own dW and db; they are added up at the end.
        let partialCount = O * CKK + O
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * partialCount)
        partials.initialize(repeating: 0, count: workers * partialCount)
        defer { partials.deallocate() }
        let columnCount = CKK * G * P
        Parallel.forEach(workers) { worker in
            // columns | dColumns | dy of the group side by side (when G > 1)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * columnCount + O * G * P)
            defer { scratch.deallocate() }
            let columnsBuffer = scratch, dColumnsBuffer = scratch + columnCount, dyBuffer = scratch + 2 * columnCount
            let dWeightPart = partials + worker * partialCount, dBiasPart = dWeightPart + O * CKK
            for group in (groups * worker / workers)..<(groups * (worker + 1) / workers) {
                let first = group * G, count = min(G, s.batch - first), width = count * P
                let dyGroup: UnsafePointer<Float>
                if direct {
                    dyGroup = dy + first * outputSize
                } else {
                    // G images of (O, P) → (O, G·P).
                    for i in 0..<count {
                        for o in 0..<O { (dyBuffer + o * width + i * P).update(from: dy + (first + i) * outputSize + o * P, count: P) }
                    }
                    dyGroup = UnsafePointer(dyBuffer)
                }
                if dWeight != nil {
                    let columns: UnsafePointer<Float>
                    if direct && s.isPointwise {
                        columns = x + first * inputSize
                    } else if let saved {
                        columns = saved + group * columnCount
                    } else {
                        for i in 0..<count { im2col(x + (first + i) * inputSize, shape: s, columns: columnsBuffer + i * P, rowStride: width) }
                        columns = UnsafePointer(columnsBuffer)
                    }
                    BLAS.gemm(transposeA: false, transposeB: true, m: O, n: CKK, k: width,
                                    a: dyGroup, b: columns, beta: 1, c: dWeightPart, splitAcrossThreads: false)
                }
                if dBias != nil {
                    for o in 0..<O {
                        let row = dyGroup + o * width
                        var sum: Float = 0
                        for p in 0..<width { sum += row[p] }
                        dBiasPart[o] += sum
                    }
                }
                guard let dx else { continue }
                if direct && s.isPointwise {
                    BLAS.gemm(transposeA: true, transposeB: false, m: CKK, n: P, k: O,
                                    a: weight, b: dyGroup, beta: accumulate ? 1 : 0, c: dx + first * inputSize, splitAcrossThreads: false)
                    continue
                }
                BLAS.gemm(transposeA: true, transposeB: false, m: CKK, n: width, k: O,
                                a: weight, b: dyGroup, c: dColumnsBuffer, splitAcrossThreads: false)
                for i in 0..<count {
                    let dxImage = dx + (first + i) * inputSize
                    if !accumulate { dxImage.update(repeating: 0, count: inputSize) }
                    col2imAdd(dColumnsBuffer + i * P, shape: s, dx: dxImage, rowStride: width)
                }
            }
        }
        for worker in 0..<workers {
            let dWeightPart = partials + worker * partialCount, dBiasPart = dWeightPart + O * CKK
            if let dWeight { for i in 0..<(O * CKK) { dWeight[i] += dWeightPart[i] } }
            if let dBias { for o in 0..<O { dBias[o] += dBiasPart[o] } }
        }
    }

    /// Runs `body(first, count, scratch)` for every group of up to `groupSize` consecutive images,
    /// the groups split across `Parallel.threads` workers in contiguous runs, each worker with its
    /// own scratch buffer of `scratchCount` floats.
    static func forEachGroup(
        _ s: ConvolutionShape, groupSize G: Int, scratchCount: Int, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let groups = (s.batch + G - 1) / G
        let workers = max(1, min(Parallel.threads, groups))
        Parallel.forEach(workers) { worker in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
            defer { scratch.deallocate() }
            for group in (groups * worker / workers)..<(groups * (worker + 1) / workers) {
                body(group * G, min(G, s.batch - group * G), scratch)
            }
        }
    }
}

extension ReferenceKernels {
    /// The convolution from its definition, seven nested loops in Double:
    /// y[n, o, oy, ox] = b[o] + Σ_{c, ky, kx} W[o, c, ky, kx] · x[n, c, oy·s − p + ky, ox·s − p + kx].
    public static func convolution(x: [Float], weight: [Float], bias: [Float]?, shape s: ConvolutionShape) -> [Float] {
        let (K, Ho, Wo) = (s.kernelSize, s.outHeight, s.outWidth)
        var y = [Float](repeating: 0, count: s.batch * s.outChannels * Ho * Wo)
        for n in 0..<s.batch { for o in 0..<s.outChannels { for oy in 0..<Ho { for ox in 0..<Wo {
            var sum = Double(bias?[o] ?? 0)
            for c in 0..<s.inChannels { for ky in 0..<K { for kx in 0..<K {
                let iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx
                guard iy >= 0 && iy < s.height && ix >= 0 && ix < s.width else { continue }
                sum += Double(weight[((o * s.inChannels + c) * K + ky) * K + kx])
                    * Double(x[((n * s.inChannels + c) * s.height + iy) * s.width + ix])
            } } }
            y[((n * s.outChannels + o) * Ho + oy) * Wo + ox] = Float(sum)
        } } } }
        return y
    }
}
