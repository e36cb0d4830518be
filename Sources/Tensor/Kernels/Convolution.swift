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
    /// columns (C·K·K, Ho·Wo) ← the patches of one image x (C, H, W); zero where a tap falls in the padding.
    public static func im2col(_ x: UnsafePointer<Float>, shape s: ConvolutionShape, columns: UnsafeMutablePointer<Float>) {
        let (K, Ho, Wo) = (s.kernelSize, s.outHeight, s.outWidth)
        for c in 0..<s.inChannels {
            let plane = x + c * s.inPixels
            for ky in 0..<K {
                for kx in 0..<K {
                    let row = columns + ((c * K + ky) * K + kx) * Ho * Wo
                    // Output columns whose input column ox·stride − padding + kx lies inside the image.
                    let (first, end) = validRange(outSize: Wo, inSize: s.width, offset: kx - s.padding, stride: s.stride)
                    for oy in 0..<Ho {
                        let out = row + oy * Wo
                        let iy = oy * s.stride - s.padding + ky
                        guard iy >= 0 && iy < s.height, first < end else {
                            out.update(repeating: 0, count: Wo)
                            continue
                        }
                        let source = plane + iy * s.width + kx - s.padding
                        if first > 0 { out.update(repeating: 0, count: first) }
                        if s.stride == 1 {
                            (out + first).update(from: source + first, count: end - first)
                        } else {
                            for ox in first..<end { out[ox] = source[ox * s.stride] }
                        }
                        if end < Wo { (out + end).update(repeating: 0, count: Wo - end) }
                    }
                }
            }
        }
    }

    /// dx (C, H, W) += the column-matrix gradient of one image folded back onto its pixels (the
    /// adjoint of `im2col`: each tap adds into the pixel it read).
    public static func col2imAdd(_ dColumns: UnsafePointer<Float>, shape s: ConvolutionShape, dx: UnsafeMutablePointer<Float>) {
        let (K, Ho, Wo) = (s.kernelSize, s.outHeight, s.outWidth)
        for c in 0..<s.inChannels {
            let plane = dx + c * s.inPixels
            for ky in 0..<K {
                for kx in 0..<K {
                    let row = dColumns + ((c * K + ky) * K + kx) * Ho * Wo
                    let (first, end) = validRange(outSize: Wo, inSize: s.width, offset: kx - s.padding, stride: s.stride)
                    guard first < end else { continue }
                    for oy in 0..<Ho {
                        let iy = oy * s.stride - s.padding + ky
                        guard iy >= 0 && iy < s.height else { continue }
                        let source = row + oy * Wo
                        let target = plane + iy * s.width + kx - s.padding
                        for ox in first..<end { target[ox * s.stride] += source[ox] }
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

    /// y (N, O, Ho, Wo) = conv(x (N, C, H, W), W (O, C, K, K)) + b (O).
    ///
    /// Images are split across the workers; each expands its image into a column matrix in its own
    /// scratch buffer and computes one product W · columns with a single-threaded BLAS call.
    public static func convolutionForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        shape s: ConvolutionShape, y: UnsafeMutablePointer<Float>
    ) {
        let (O, P) = (s.outChannels, s.outPixels)
        forEachImageWithScratch(s, scratchCount: s.isPointwise ? 0 : s.patchSize * P) { n, scratch in
            let image = x + n * s.inChannels * s.inPixels
            let columns: UnsafePointer<Float>
            if s.isPointwise {
                columns = image
            } else {
                im2col(image, shape: s, columns: scratch)
                columns = UnsafePointer(scratch)
            }
            let out = y + n * O * P
            if let bias {
                for o in 0..<O { (out + o * P).update(repeating: bias[o], count: P) }
            }
            BLAS.serialGemm(transposeA: false, transposeB: false, m: O, n: P, k: s.patchSize,
                            a: weight, b: columns, beta: bias == nil ? 0 : 1, c: out)
        }
    }

    /// Backward of `convolutionForward`: dx (+)= col2im(Wᵀ · dy), dW += Σ_n dy_n · columns_nᵀ,
    /// db += Σ over images and pixels of dy. The column matrices are rebuilt rather than kept from
    /// the forward: im2col is cheap next to the products, and keeping them would take C·K·K times
    /// the memory of each input.
    public static func convolutionBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, shape s: ConvolutionShape,
        dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?
    ) {
        let (O, P, CKK) = (s.outChannels, s.outPixels, s.patchSize)
        let workers = max(1, min(Parallel.threads, s.batch))
        // Each worker sums its own dW and db; they are added up at the end.
        let partialCount = O * CKK + O
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * partialCount)
        partials.initialize(repeating: 0, count: workers * partialCount)
        defer { partials.deallocate() }
        let needColumns = dWeight != nil && !s.isPointwise
        let needDColumns = dx != nil && !s.isPointwise
        let columnCount = CKK * P
        Parallel.forEach(workers) { worker in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, (needColumns ? columnCount : 0) + (needDColumns ? columnCount : 0)))
            defer { scratch.deallocate() }
            let columnsBuffer = scratch
            let dColumnsBuffer = scratch + (needColumns ? columnCount : 0)
            let dWeightPart = partials + worker * partialCount, dBiasPart = dWeightPart + O * CKK
            for n in (s.batch * worker / workers)..<(s.batch * (worker + 1) / workers) {
                let image = x + n * s.inChannels * s.inPixels
                let dyImage = dy + n * O * P
                if dWeight != nil {
                    let columns: UnsafePointer<Float>
                    if s.isPointwise {
                        columns = image
                    } else {
                        im2col(image, shape: s, columns: columnsBuffer)
                        columns = UnsafePointer(columnsBuffer)
                    }
                    BLAS.serialGemm(transposeA: false, transposeB: true, m: O, n: CKK, k: P,
                                    a: dyImage, b: columns, beta: 1, c: dWeightPart)
                }
                if dBias != nil {
                    for o in 0..<O {
                        let row = dyImage + o * P
                        var sum: Float = 0
                        for p in 0..<P { sum += row[p] }
                        dBiasPart[o] += sum
                    }
                }
                if let dx {
                    let dxImage = dx + n * s.inChannels * s.inPixels
                    if s.isPointwise {
                        BLAS.serialGemm(transposeA: true, transposeB: false, m: CKK, n: P, k: O,
                                        a: weight, b: dyImage, beta: accumulate ? 1 : 0, c: dxImage)
                    } else {
                        BLAS.serialGemm(transposeA: true, transposeB: false, m: CKK, n: P, k: O,
                                        a: weight, b: dyImage, c: dColumnsBuffer)
                        if !accumulate { dxImage.update(repeating: 0, count: s.inChannels * s.inPixels) }
                        col2imAdd(dColumnsBuffer, shape: s, dx: dxImage)
                    }
                }
            }
        }
        for worker in 0..<workers {
            let dWeightPart = partials + worker * partialCount, dBiasPart = dWeightPart + O * CKK
            if let dWeight { for i in 0..<(O * CKK) { dWeight[i] += dWeightPart[i] } }
            if let dBias { for o in 0..<O { dBias[o] += dBiasPart[o] } }
        }
    }

    /// Runs `body(n, scratch)` for every image n, the images split across `Parallel.threads`
    /// workers in contiguous runs, each worker with its own scratch buffer of `scratchCount` floats.
    static func forEachImageWithScratch(
        _ s: ConvolutionShape, scratchCount: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let workers = max(1, min(Parallel.threads, s.batch))
        Parallel.forEach(workers) { worker in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
            defer { scratch.deallocate() }
            for n in (s.batch * worker / workers)..<(s.batch * (worker + 1) / workers) { body(n, scratch) }
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
