/// Parameter initialisation.
public enum Initialization {
    /// Xavier/Glorot uniform (Glorot & Bengio 2010), as PyTorch's `xavier_uniform_`: values from
    /// U(−a, a), a = gain · √(6 / (fanIn + fanOut)), for a (fanOut, fanIn) weight matrix.
    public static func xavierUniform(
        _ values: UnsafeMutableBufferPointer<Float>, fanIn: Int, fanOut: Int, gain: Float = 1,
        generator: inout SeededGenerator
    ) {
        precondition(fanIn > 0 && fanOut > 0, "xavierUniform: fans must be positive")
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        for i in values.indices { values[i] = (2 * generator.nextUnitFloat() - 1) * bound }
    }
}
