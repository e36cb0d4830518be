import ImageKernels
import Tensor
import XCTest

/// The Winograd convolutions F(2×2, 3×3) and F(4×4, 3×3) against the definition computed in
/// Double, forward and backward, on maps that are and are not multiples of the tile (edge tiles
/// hanging over), maps smaller than a tile, and batches that split into several groups with a short
/// last one.
final class WinogradConvolutionTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    let algorithms: [WinogradAlgorithm] = [.f2x2, .f4x4]

    /// (N, C, H, W, O). With 256 tiles a group, F(2×2) takes 16 images of 7×7 and 5 of 14×14 a
    /// group, F(4×4) 64 and 16, so the batches of 20, 7 and 70 end in a short group; 1×1 and 5×3
    /// leave tiles mostly outside the map; tile counts that are not multiples of 8 leave padding lanes,
    /// and 17 × 17 kernels a last group of one.
    let cases: [(Int, Int, Int, Int, Int)] = [
        (3, 16, 7, 7, 20), (2, 17, 6, 8, 16), (7, 16, 14, 14, 16), (20, 16, 7, 7, 16), (70, 16, 7, 7, 16),
        (2, 16, 1, 1, 16), (1, 17, 5, 3, 17), (3, 16, 9, 10, 16),
    ]

    func shape(_ c: (Int, Int, Int, Int, Int)) -> ConvolutionShape {
        ConvolutionShape(batch: c.0, inChannels: c.1, height: c.2, width: c.3, outChannels: c.4, kernelSize: 3, stride: 1, padding: 1)
    }

    func testTheNetworksConvolutionsTakeThePath() {
        XCTAssertEqual(ConvolutionShape(batch: 128, inChannels: 128, height: 14, width: 14, outChannels: 128, kernelSize: 3, stride: 1, padding: 1).winogradAlgorithm, .f4x4)
        XCTAssertEqual(ConvolutionShape(batch: 128, inChannels: 256, height: 7, width: 7, outChannels: 256, kernelSize: 3, stride: 1, padding: 1).winogradAlgorithm, .f4x4)
        // The first layer (one input channel), strided and pointwise convolutions keep the column matrices.
        XCTAssertNil(ConvolutionShape(batch: 128, inChannels: 1, height: 28, width: 28, outChannels: 64, kernelSize: 3, stride: 1, padding: 1).winogradAlgorithm)
        XCTAssertNil(ConvolutionShape(batch: 128, inChannels: 64, height: 28, width: 28, outChannels: 128, kernelSize: 3, stride: 2, padding: 1).winogradAlgorithm)
        XCTAssertNil(ConvolutionShape(batch: 128, inChannels: 64, height: 28, width: 28, outChannels: 128, kernelSize: 1, stride: 2, padding: 0).winogradAlgorithm)
    }

    func testForwardMatchesTheDefinition() {
        for algorithm in algorithms { for (index, c) in cases.enumerated() {
            let s = shape(c)
            let seed = UInt64(300 + 3 * index)
            let x = GradientCheck.randomArray(s.batch * s.inChannels * s.inPixels, seed: seed)
            let w = GradientCheck.randomArray(s.outChannels * s.patchSize, seed: seed + 1, scale: 0.2)
            let b = GradientCheck.randomArray(s.outChannels, seed: seed + 2)
            let expected = ReferenceKernels.convolution(x: x, weight: w, bias: b, shape: s)
            var y = [Float](repeating: .nan, count: expected.count)
            x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in b.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { y in
                    Kernels.winogradConvolutionForward(x: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!,
                                                      shape: s, y: y.baseAddress!, algorithm: algorithm)
                }
            } } }
            XCTAssertLessThanOrEqual(maxDifference(y, expected), 2e-5 * scale(expected), "\(algorithm) forward \(s)")
        } }
    }

    func testBackwardMatchesTheDefinition() {
        for algorithm in algorithms { for (index, c) in cases.enumerated() {
            let s = shape(c)
            let seed = UInt64(400 + 4 * index)
            let x = GradientCheck.randomArray(s.batch * s.inChannels * s.inPixels, seed: seed)
            let w = GradientCheck.randomArray(s.outChannels * s.patchSize, seed: seed + 1, scale: 0.2)
            let dy = GradientCheck.randomArray(s.batch * s.outChannels * s.outPixels, seed: seed + 2)
            let expected = referenceBackward(x: x, weight: w, dy: dy, shape: s)
            // Start from values already there: accumulate adds to dx and dW, db always adds.
            let dxBefore = GradientCheck.randomArray(x.count, seed: seed + 3)
            let dWBefore = GradientCheck.randomArray(w.count, seed: seed + 4)
            for accumulate in [false, true] {
                var dx = accumulate ? dxBefore : [Float](repeating: .nan, count: x.count)
                var dW = dWBefore, db = [Float](repeating: 1, count: s.outChannels)
                x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in dy.withUnsafeBufferPointer { dy in
                    dx.withUnsafeMutableBufferPointer { dx in dW.withUnsafeMutableBufferPointer { dW in db.withUnsafeMutableBufferPointer { db in
                        Kernels.winogradConvolutionBackward(x: x.baseAddress!, weight: w.baseAddress!, shape: s, dy: dy.baseAddress!,
                                                           dx: dx.baseAddress!, accumulate: accumulate,
                                                           dWeight: dW.baseAddress!, dBias: db.baseAddress!, algorithm: algorithm)
                    } } }
                } } }
                let expectedDx = accumulate ? zip(expected.dx, dxBefore).map { $0 + $1 } : expected.dx
                let label = "\(algorithm) \(s) accumulate \(accumulate)"
                XCTAssertLessThanOrEqual(maxDifference(dx, expectedDx), 2e-5 * scale(expected.dx), "dx \(label)")
                XCTAssertLessThanOrEqual(maxDifference(dW, zip(expected.dWeight, dWBefore).map { $0 + $1 }), 2e-5 * scale(expected.dWeight), "dW \(label)")
                XCTAssertLessThanOrEqual(maxDifference(db, expected.dBias.map { $0 + 1 }), 2e-5 * scale(expected.dBias), "db \(label)")
            }
        } }
    }

    /// Each gradient alone, as the tape asks for them (the first layer's input needs none).
    func testBackwardComputesOnlyWhatIsAskedFor() {
        let s = shape((3, 16, 7, 7, 20))
        let x = GradientCheck.randomArray(s.batch * s.inChannels * s.inPixels, seed: 500)
        let w = GradientCheck.randomArray(s.outChannels * s.patchSize, seed: 501, scale: 0.2)
        let dy = GradientCheck.randomArray(s.batch * s.outChannels * s.outPixels, seed: 502)
        let expected = referenceBackward(x: x, weight: w, dy: dy, shape: s)
        var dx = [Float](repeating: 0, count: x.count), dW = [Float](repeating: 0, count: w.count)
        x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in dy.withUnsafeBufferPointer { dy in
            dx.withUnsafeMutableBufferPointer { dx in
                Kernels.winogradConvolutionBackward(x: x.baseAddress!, weight: w.baseAddress!, shape: s, dy: dy.baseAddress!,
                                                   dx: dx.baseAddress!, accumulate: false, dWeight: nil, dBias: nil, algorithm: .f4x4)
            }
            dW.withUnsafeMutableBufferPointer { dW in
                Kernels.winogradConvolutionBackward(x: x.baseAddress!, weight: w.baseAddress!, shape: s, dy: dy.baseAddress!,
                                                   dx: nil, accumulate: false, dWeight: dW.baseAddress!, dBias: nil, algorithm: .f4x4)
            }
        } } }
        XCTAssertLessThanOrEqual(maxDifference(dx, expected.dx), 2e-5 * scale(expected.dx))
        XCTAssertLessThanOrEqual(maxDifference(dW, expected.dWeight), 2e-5 * scale(expected.dWeight))
    }

    /// A training step keeps the forward's transformed input (Winograd) or column matrices (the
    /// other path) for the kernel gradient; with them the backward gives what rebuilding them gives.
    func testSavedForwardWorkGivesTheSameGradients() {
        // (N, C, H, W, O, K, stride, padding): both Winograd group sizes, a strided 3×3 and a
        // strided pointwise convolution (several images a product), one image a product (28×28).
        let shapes: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (20, 16, 7, 7, 16, 3, 1, 1), (7, 16, 14, 14, 16, 3, 1, 1), (9, 8, 14, 14, 16, 3, 2, 1),
            (9, 8, 14, 14, 16, 1, 2, 0), (3, 4, 28, 28, 8, 3, 2, 1),
        ]
        for (index, (N, C, H, W, O, K, stride, padding)) in shapes.enumerated() {
            let s = ConvolutionShape(batch: N, inChannels: C, height: H, width: W, outChannels: O, kernelSize: K, stride: stride, padding: padding)
            let seed = UInt64(600 + 4 * index)
            let x = GradientCheck.randomArray(N * C * H * W, seed: seed), w = GradientCheck.randomArray(O * s.patchSize, seed: seed + 1)
            let dy = GradientCheck.randomArray(N * O * s.outPixels, seed: seed + 2)
            var savedWork = [Float](repeating: .nan, count: Kernels.convolutionSavedCount(s))
            XCTAssertGreaterThan(savedWork.count, 0, "\(s)")
            var y = [Float](repeating: 0, count: N * O * s.outPixels)
            var dWSaved = [Float](repeating: 0, count: w.count), dWRebuilt = dWSaved
            x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in dy.withUnsafeBufferPointer { dy in
                savedWork.withUnsafeMutableBufferPointer { saved in
                    y.withUnsafeMutableBufferPointer { y in
                        Kernels.convolutionForward(x: x.baseAddress!, weight: w.baseAddress!, bias: nil, shape: s, y: y.baseAddress!, saving: saved.baseAddress!)
                    }
                    dWSaved.withUnsafeMutableBufferPointer { dW in
                        Kernels.convolutionBackward(x: x.baseAddress!, weight: w.baseAddress!, shape: s, dy: dy.baseAddress!, dx: nil, accumulate: false,
                                                    dWeight: dW.baseAddress!, dBias: nil, saved: UnsafePointer(saved.baseAddress!))
                    }
                }
                dWRebuilt.withUnsafeMutableBufferPointer { dW in
                    Kernels.convolutionBackward(x: x.baseAddress!, weight: w.baseAddress!, shape: s, dy: dy.baseAddress!, dx: nil, accumulate: false,
                                                dWeight: dW.baseAddress!, dBias: nil)
                }
            } } }
            XCTAssertEqual(dWSaved, dWRebuilt, "\(s)")
        }
    }

    /// Through the tape, where conv2d picks the path: finite differences agree too.
    func testTapeGradientsByFiniteDifferences() {
        let x = GradientCheck.random([2, 16, 3, 5], seed: 510), w = GradientCheck.random([16, 16, 3, 3], seed: 511, scale: 0.2)
        let b = GradientCheck.random([16], seed: 512)
        let r = GradientCheck.randomArray(2 * 16 * 15, seed: 513)
        GradientCheck.check(inputs: [x, w, b]) { tape in
            GradientCheck.weightedSum(tape.conv2d(x, weight: w, bias: b, stride: 1, padding: 1), weights: r, tape: tape)
        }
    }

    private func scale(_ values: [Float]) -> Float { max(1, values.map { abs($0) }.max() ?? 0) }

    /// The gradients from the definition, in Double: dx[n,c,iy,ix] = Σ dy[n,o,y,x] W[o,c,ky,kx] over
    /// the taps that read (iy, ix); dW[o,c,ky,kx] = Σ dy[n,o,y,x] x[n,c,y+ky−1,x+kx−1]; db[o] = Σ dy.
    private func referenceBackward(x: [Float], weight: [Float], dy: [Float], shape s: ConvolutionShape)
        -> (dx: [Float], dWeight: [Float], dBias: [Float]) {
        let (N, C, H, W, O) = (s.batch, s.inChannels, s.height, s.width, s.outChannels)
        var dx = [Double](repeating: 0, count: x.count), dW = [Double](repeating: 0, count: weight.count)
        var db = [Double](repeating: 0, count: O)
        for n in 0..<N { for o in 0..<O { for y in 0..<H { for xo in 0..<W {
            let g = Double(dy[((n * O + o) * H + y) * W + xo])
            db[o] += g
            for c in 0..<C { for ky in 0..<3 { for kx in 0..<3 {
                let iy = y + ky - 1, ix = xo + kx - 1
                guard iy >= 0 && iy < H && ix >= 0 && ix < W else { continue }
                let wi = ((o * C + c) * 3 + ky) * 3 + kx, xi = ((n * C + c) * H + iy) * W + ix
                dx[xi] += g * Double(weight[wi])
                dW[wi] += g * Double(x[xi])
            } } }
        } } } }
        return (dx.map(Float.init), dW.map(Float.init), db.map(Float.init))
    }
}
