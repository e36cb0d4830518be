/// A double-array trie over byte strings (a model's pieces), for finding every piece that starts
/// at a position of the text in one walk — the inner loop of Viterbi segmentation.
///
/// Each node is one 64-bit unit in `units`: bits 0…7 the byte that leads to it, bit 8 set when
/// the slot is taken, bits 9…31 the value + 1 of the key that ends here (0: none), bits 32…63 the
/// base of its children. Child `c` of a node with base `b` sits at `b ^ c`, and belongs to that
/// node when its label is `c` — which holds because no two nodes with children share a base.
/// XOR keeps a child in its base's 256-unit block, so a walk never leaves the array. Nodes
/// without children point at an extra block where no slot is taken.
struct PieceTrie: Sendable {
    private(set) var units: [UInt64]
    /// The base of the root's children.
    let rootBase: Int
    /// Values must lie below this (23 bits of the unit).
    static let valueLimit = (1 << 23) - 1

    /// Builds the trie of `keys` (non-empty, distinct) with their values (0 ..< valueLimit).
    init<Keys: Sequence>(_ keys: Keys) where Keys.Element == (key: [UInt8], value: Int) {
        var builder = Builder()
        for (key, value) in keys { builder.insert(key, value: value) }
        (units, rootBase) = builder.layOut()
    }

    /// Calls `body(end, value)` for every key that is a prefix of `text[start...]`, shortest
    /// first; `end` is the index just past the key.
    @inline(__always)
    func forEachPrefix(of text: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, Int) -> Void) {
        units.withUnsafeBufferPointer { units in
            var base = rootBase
            var i = start
            while i < text.count {
                let byte = text[i]
                let unit = units[base ^ Int(byte)]
                guard unit & 0x1FF == 0x100 | UInt64(byte) else { return }
                i += 1
                let stored = Int((unit >> 9) & 0x7F_FFFF)
                if stored != 0 { body(i, stored - 1) }
                base = Int(unit >> 32)
            }
        }
    }

    /// Whether some key starts with `byte`.
    func startsKey(_ byte: UInt8) -> Bool {
        units[rootBase ^ Int(byte)] & 0x1FF == 0x100 | UInt64(byte)
    }

    /// The value of exactly `key`, or nil.
    func value(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !key.isEmpty else { return nil }
        var result: Int? = nil
        forEachPrefix(of: key, from: 0) { end, value in if end == key.count { result = value } }
        return result
    }

    /// The length of the longest key that is a prefix of `text[start...]`, or nil.
    func longestPrefix(of text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var longest: Int? = nil
        forEachPrefix(of: text, from: start) { end, _ in longest = end - start }
        return longest
    }
}

extension PieceTrie {
    /// A plain trie first, then the nodes laid out breadth-first, each at the first base where
    /// all its children's slots are free.
    private struct Builder {
        struct Node {
            var children: [(label: UInt8, node: Int)] = []
            var value = -1
        }
        var nodes = [Node()]

        mutating func insert(_ key: [UInt8], value: Int) {
            precondition(!key.isEmpty && (0..<PieceTrie.valueLimit).contains(value))
            var node = 0
            for byte in key {
                if let child = nodes[node].children.first(where: { $0.label == byte })?.node {
                    node = child
                } else {
                    nodes.append(Node())
                    nodes[node].children.append((byte, nodes.count - 1))
                    node = nodes.count - 1
                }
            }
            nodes[node].value = value
        }

        func layOut() -> (units: [UInt64], rootBase: Int) {
            var slots = Slots()
            var base = [Int](repeating: -1, count: nodes.count)
            var position = [Int](repeating: -1, count: nodes.count)
            var queue = [0]
            var head = 0
            while head < queue.count {
                let node = queue[head]
                head += 1
                let children = nodes[node].children.sorted { $0.label < $1.label }
                guard !children.isEmpty else { continue }
                let chosen = slots.findBase(labels: children.map(\.label))
                base[node] = chosen
                for (label, child) in children {
                    let at = chosen ^ Int(label)
                    position[child] = at
                    slots.take(at, unit: 0x100 | UInt64(label) | UInt64(nodes[child].value + 1) << 9)
                    queue.append(child)
                }
            }
            // Nodes without children all lead to one block that no node ever fills.
            let dead = slots.units.count
            var units = slots.units + [UInt64](repeating: 0, count: 256)
            for node in 1..<nodes.count {
                units[position[node]] |= UInt64(base[node] >= 0 ? base[node] : dead) << 32
            }
            return (units, base[0] >= 0 ? base[0] : dead)
        }
    }

    /// The slots of the array being laid out, with the free ones of the last few blocks in a
    /// doubly linked list (as darts-clone does), so a search looks at a bounded number of
    /// candidates and building stays linear in the number of nodes.
    private struct Slots {
        var units: [UInt64] = []
        var usedAsBase: [Bool] = []
        var next: [Int] = [], previous: [Int] = []
        var firstFree = -1
        static let openBlocks = 16

        mutating func take(_ slot: Int, unit: UInt64) {
            units[slot] = unit
            unlink(slot)
        }

        mutating func findBase(labels: [UInt8]) -> Int {
            while true {
                var candidate = firstFree
                while candidate >= 0 {
                    let base = candidate ^ Int(labels[0])
                    if !usedAsBase[base], labels.allSatisfy({ units[base ^ Int($0)] == 0 && isFree(base ^ Int($0)) }) {
                        usedAsBase[base] = true
                        return base
                    }
                    candidate = next[candidate]
                    if candidate == firstFree { break }
                }
                addBlock()
            }
        }

        private func isFree(_ slot: Int) -> Bool { next[slot] >= 0 }

        private mutating func addBlock() {
            let start = units.count
            units += [UInt64](repeating: 0, count: 256)
            usedAsBase += [Bool](repeating: false, count: 256)
            next += [Int](repeating: -1, count: 256)
            previous += [Int](repeating: -1, count: 256)
            for slot in start..<start + 256 { link(slot) }
            // Slots of old blocks stay empty for good, which costs a little space and keeps
            // every search short.
            let closing = start / 256 - Self.openBlocks
            if closing >= 0 {
                for slot in closing * 256..<(closing + 1) * 256 where isFree(slot) { unlink(slot) }
            }
        }

        /// Appends `slot` to the circular list of free slots.
        private mutating func link(_ slot: Int) {
            if firstFree < 0 {
                next[slot] = slot
                previous[slot] = slot
                firstFree = slot
            } else {
                let last = previous[firstFree]
                next[last] = slot
                previous[slot] = last
                next[slot] = firstFree
                previous[firstFree] = slot
            }
        }

        private mutating func unlink(_ slot: Int) {
            guard isFree(slot) else { return }
            if next[slot] == slot {
                firstFree = -1
            } else {
                next[previous[slot]] = next[slot]
                previous[next[slot]] = previous[slot]
                if firstFree == slot { firstFree = next[slot] }
            }
            next[slot] = -1
            previous[slot] = -1
        }
    }
}
