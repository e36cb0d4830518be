/// Reverse-mode automatic differentiation by a tape of backward closures.
///
/// Each differentiable op (see `Tape+Ops.swift`) computes its result and, while recording and
/// when an input needs a gradient, appends a closure that reads the result's gradient and adds
/// into its inputs' gradients. `backward(from:)` runs the closures in reverse order. Inference
/// uses a tape that does not record, so the same layer code runs with no bookkeeping.
public final class Tape {
    /// False for inference: ops compute results only.
    public let isRecording: Bool
    /// True when training (dropout active); independent of recording so tests can check
    /// gradients of the deterministic network.
    public var isTraining: Bool
    /// Random state for dropout.
    public var generator: SeededGenerator

    private var steps: [() -> Void] = []

    /// Scratch memory of the int8 products run on this tape (their activation codes): a decoder
    /// that keeps one tape across its steps allocates it once, at the size of its largest batch.
    public private(set) lazy var quantizationWorkspace = QuantizationWorkspace()

    public init(recording: Bool = true, training: Bool = false, generator: SeededGenerator = SeededGenerator(seed: 0)) {
        self.isRecording = recording
        self.isTraining = training
        self.generator = generator
    }

    /// A tape for inference: records nothing, no dropout.
    public static var inference: Tape { Tape(recording: false) }

    /// Whether an op with these inputs must record its backward.
    @inline(__always)
    public func needsGradient(_ inputs: Tensor?...) -> Bool {
        isRecording && inputs.contains { $0?.requiresGradient == true }
    }

    /// Appends a backward step.
    public func record(_ step: @escaping () -> Void) {
        precondition(isRecording, "record on a tape that is not recording")
        steps.append(step)
    }

    /// Seeds d loss / d loss = 1 and runs every recorded step in reverse, then forgets them
    /// (and with them the activations they held). The steps stay alive until all have run: a step
    /// holds the inputs of its op, and an earlier step finds its result only through them.
    public func backward(from loss: Tensor) {
        precondition(loss.count == 1, "backward starts from a scalar, got \(loss.shape)")
        loss.gradientBuffer().fill(1)
        for step in steps.reversed() { step() }
        steps.removeAll()
    }

    /// Forgets the recorded steps without running them.
    public func reset() { steps.removeAll() }

    /// The number of recorded steps (for tests and diagnostics).
    public var recordedSteps: Int { steps.count }
}

extension Tensor {
    /// Where a backward step writes this tensor's gradient: its existing gradient (add into it)
    /// or, the first time, a fresh buffer that the step overwrites — skipping a zero fill.
    @inline(__always)
    public func gradientDestination() -> (pointer: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if let gradient { return (gradient.data, true) }
        let g = Tensor(uninitialized: shape)
        gradient = g
        return (g.data, false)
    }
}
