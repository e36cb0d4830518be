import ArgumentParser
import Foundation
import Tensor

/// `nmt bench int8`: the int8 product (`Kernels.quantizedLinearForward`: quantizing the rows, the
/// integer product, dequantizing with the bias) against OpenBLAS sgemm (`Kernels.linearForward`,
/// the bias included the same way) at the decoder's shapes: rows = hypotheses decoded together.
struct BenchInt8: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "int8",
        abstract: "The int8 matrix product against float32 sgemm at the decoder's shapes (rows × K → N).")

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Row counts, comma-separated.") var rows = "1,4,16,64,128,256"
    @Option(help: "K×N pairs (inputs × outputs), comma-separated.") var shapes = "256x256,256x768,256x1024,1024x256,256x8000"
    @Option(help: "Threads for BLAS and our loops.") var threads = 1
    @Option(help: "wall: elapsed time; cpu: the process's CPU time (steadier on a shared machine; with several threads it sums them).")
    var clock: BenchmarkClock = .wall
    @Option(help: "Minimum seconds of calls behind each timed repeat.") var minimumTime = 0.02

    enum BenchmarkClock: String, ExpressibleByArgument, CaseIterable { case wall, cpu }

    func validate() throws {
        guard threads >= 1 else { throw CommandError("--threads must be at least 1, got \(threads)") }
        guard parsedRows() != nil else { throw CommandError("--rows: expected positive integers separated by commas, got '\(rows)'") }
        guard parsedShapes() != nil else { throw CommandError("--shapes: expected KxN pairs such as 256x768, got '\(shapes)'") }
    }

    private func parsedRows() -> [Int]? {
        let values = rows.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return values.map { $0! }
    }

    private func parsedShapes() -> [(k: Int, n: Int)]? {
        let pairs = shapes.split(separator: ",").map { $0.split(separator: "x").map { Int($0.trimmingCharacters(in: .whitespaces)) } }
        guard !pairs.isEmpty, pairs.allSatisfy({ $0.count == 2 && ($0[0] ?? 0) >= 1 && ($0[1] ?? 0) >= 1 }) else { return nil }
        return pairs.map { (k: $0[0]!, n: $0[1]!) }
    }

    func run() throws {
        Parallel.configure(threads: threads)
        Allocation.reuseFreedMemory()
        var generator = SeededGenerator(seed: 3)
        var figures: [BenchmarkFigure] = []
        var table: [String] = []
        for (K, N) in parsedShapes()! {
            // Weights as a trained model's: normal, std 0.05; activations as a layer norm's output.
            let weight = (0..<(N * K)).map { _ in generator.nextNormal() * 0.05 }
            let bias = (0..<N).map { _ in generator.nextNormal() * 0.1 }
            let quantized = try QuantizedWeight(weight: weight, outFeatures: N, inFeatures: K)
            for M in parsedRows()! {
                let x = (0..<(M * K)).map { _ in generator.nextNormal() }
                var y = [Float](repeating: 0, count: M * N)
                let float32 = time {
                    Kernels.linearForward(x: x, rows: M, inFeatures: K, weight: weight, bias: bias, outFeatures: N, y: &y)
                }
                let int8 = time {
                    Kernels.quantizedLinearForward(x: x, rows: M, weight: quantized, bias: bias, y: &y)
                }
                let operations = 2 * Double(M * N * K)
                let name = "int8 \(M)x\(K)x\(N)"
                figures.append(BenchmarkFigure(benchmark: name, metric: "sgemm_gflops", value: operations / float32 / 1e9, unit: "GFLOP/s"))
                figures.append(BenchmarkFigure(benchmark: name, metric: "int8_gops", value: operations / int8 / 1e9, unit: "GOP/s"))
                figures.append(BenchmarkFigure(benchmark: name, metric: "speedup", value: float32 / int8, unit: "x"))
                table.append(String(format: "%5d %5d %5d  %8.1f  %8.1f  %13.1f  %10.1f  %7.2f×", M, K, N, float32 * 1e6, int8 * 1e6,
                                    operations / float32 / 1e9, operations / int8 / 1e9, float32 / int8))
            }
        }
        switch benchmark.format {
        case .json:
            benchmark.report(figures)
        case .text:
            print("int8 path: \(Int8Path.best), threads \(threads), clock \(clock.rawValue), median of \(benchmark.repeats)")
            print(" rows     K     N  sgemm µs   int8 µs  sgemm GFLOP/s  int8 GOP/s  speed-up")
            table.forEach { print($0) }
        }
    }

    /// Median seconds of one call: each repeat times enough calls to fill `minimumTime`.
    private func time(_ body: () -> Void) -> Double {
        body()
        var calls = 1
        while true {
            let seconds = measure(calls: calls, body)
            if seconds >= minimumTime / 4 || calls >= 1 << 20 {
                calls = max(1, Int(Double(calls) * minimumTime / max(seconds, 1e-9)))
                break
            }
            calls *= 4
        }
        var times = (0..<benchmark.repeats).map { _ in measure(calls: calls, body) / Double(calls) }
        times.sort()
        return times[times.count / 2]
    }

    private func measure(calls: Int, _ body: () -> Void) -> Double {
        let start = now()
        for _ in 0..<calls { body() }
        return now() - start
    }

    private func now() -> Double {
        var spec = timespec()
        clock_gettime(clock == .wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}
