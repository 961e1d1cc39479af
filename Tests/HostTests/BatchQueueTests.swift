import SwitchboardCore
import Testing

/// The hand-off queue between the HTTP sends and the delivery pipeline: slices taken from the front
/// of a long backlog keep the arrival order and lose nothing, whatever arrives meanwhile.
@Suite struct BatchQueueTests {
    @Test func slicesFromALongBacklogKeepTheOrderAndLoseNothing() async {
        let queue = BatchQueue<Int>()
        for value in 0..<10_000 { queue.push(value) }
        var taken: [Int] = []
        var next = 10_000
        while taken.count < 12_000 {
            guard let slice = await queue.next(max: 7) else { break }
            #expect(slice.count <= 7)
            taken += slice
            // Arrivals while the backlog is drained land behind it.
            if next < 12_000 {
                queue.push(next)
                next += 1
            }
        }
        #expect(taken == Array(0..<12_000))
        #expect(queue.count == 0)
    }

    @Test func takingEverythingEmptiesTheQueueAndAFinishedQueueEndsTheConsumer() async {
        let queue = BatchQueue<String>()
        queue.push(contentsOf: ["a", "b", "c"])
        #expect(await queue.next(max: 2) == ["a", "b"])
        queue.push("d")
        #expect(queue.takeAll() == ["c", "d"])
        #expect(queue.takeAll().isEmpty)
        queue.push("e")
        #expect(await queue.next() == ["e"])
        queue.finish()
        #expect(await queue.next() == nil)
        #expect(await queue.next(max: 3) == nil)
    }
}
