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
    init(_ keys: [(key: ArraySlice<UInt8>, value: Int)]) {
        (units, rootBase) = Builder.layOut(keys.sorted { $0.key.lexicographicallyPrecedes($1.key) })
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

    /// Walks `bytes` from the node whose children start at `base` (`rootBase` for the root):
    /// the base of the node reached and the value of the key that ends there (or -1), or nil
    /// when no key continues that way.
    @inline(__always)
    func walk(from base: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> (base: Int, value: Int)? {
        units.withUnsafeBufferPointer { units in
            var base = base
            var stored = 0
            for byte in bytes {
                let unit = units[base ^ Int(byte)]
                guard unit & 0x1FF == 0x100 | UInt64(byte) else { return nil }
                stored = Int((unit >> 9) & 0x7F_FFFF)
                base = Int(unit >> 32)
            }
            return (base, stored - 1)
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
    /// Lays the trie out breadth-first straight from the sorted keys (as darts-clone does): a
    /// node is a range of keys sharing a prefix, its children the distinct next bytes, each
    /// placed at the first base where all its children's slots are free.
    private enum Builder {
        struct Node {
            var keys: Range<Int>
            var depth: Int
            /// The node's own slot, whose base field is set when its children are placed (-1: the root).
            var slot: Int
        }

        static func layOut(_ keys: [(key: ArraySlice<UInt8>, value: Int)]) -> (units: [UInt64], rootBase: Int) {
            var slots = Slots()
            var childless: [Int] = []
            var rootBase = -1
            var queue = [Node(keys: 0..<keys.count, depth: 0, slot: -1)]
            var children: [(label: UInt8, keys: Range<Int>)] = []
            var head = 0
            while head < queue.count {
                let node = queue[head]
                head += 1
                // Keys that end here come first in sorted order; the rest group by their next byte.
                children.removeAll(keepingCapacity: true)
                for index in node.keys where keys[index].key.count > node.depth {
                    let byte = keys[index].key[keys[index].key.startIndex + node.depth]
                    if let last = children.last, last.label == byte {
                        children[children.count - 1].keys = last.keys.lowerBound..<index + 1
                    } else {
                        children.append((byte, index..<index + 1))
                    }
                }
                guard !children.isEmpty else {
                    childless.append(node.slot)
                    continue
                }
                let base = slots.findBase(labels: children.map(\.label))
                if node.slot < 0 { rootBase = base } else { slots.units[node.slot] |= UInt64(base) << 32 }
                for (label, range) in children {
                    let slot = base ^ Int(label)
                    let first = keys[range.lowerBound]
                    let value = first.key.count == node.depth + 1 ? first.value + 1 : 0
                    slots.take(slot, unit: 0x100 | UInt64(label) | UInt64(value) << 9)
                    queue.append(Node(keys: range, depth: node.depth + 1, slot: slot))
                }
            }
            // Nodes without children all lead to one block that no node ever fills.
            let dead = slots.units.count
            var units = slots.units + [UInt64](repeating: 0, count: 256)
            for slot in childless where slot >= 0 { units[slot] |= UInt64(dead) << 32 }
            return (units, rootBase >= 0 ? rootBase : dead)
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
