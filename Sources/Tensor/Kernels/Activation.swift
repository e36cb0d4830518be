/// The feed-forward activations of formats.md: relu, gelu (exact, with erf) and swish (SiLU).
public enum Activation: String, Sendable, CaseIterable, Codable {
    case relu
    case gelu
    case swish

    /// Accepts the config.json spellings transformers uses for the same functions.
    public init?(configName: String) {
        switch configName {
        case "relu": self = .relu
        case "gelu": self = .gelu
        case "swish", "silu": self = .swish
        default: return nil
        }
    }

    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .swish: return x / (1 + expf(-x))
        }
    }

    /// d act(x) / dx.
    @inline(__always)
    public func derivative(_ x: Float) -> Float {
        switch self {
        case .relu:
            return x > 0 ? 1 : 0
        case .gelu:
            let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
            let pdf = expf(-0.5 * x * x) * 0.39894228040143268
            return cdf + x * pdf
        case .swish:
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        }
    }
}

extension Kernels {
    /// y = act(x), elementwise over `count` values.
    public static func activationForward(_ activation: Activation, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        switch activation {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .gelu, .swish:
            Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in y[i] = activation.apply(x[i]) }
        }
    }

    /// dx (+)= dy · act'(x).
    public static func activationBackward(
        _ activation: Activation, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool
    ) {
        if accumulate {
            Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in dx[i] += dy[i] * activation.derivative(x[i]) }
        } else {
            Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in dx[i] = dy[i] * activation.derivative(x[i]) }
        }
    }
}
