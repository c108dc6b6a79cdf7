import Testing
import UDSKitTestSupport

@testable import UDSKit

/// An actor that lives on a reactor: its methods run on the reactor's thread.
private actor OnReactor {
    let reactor: Reactor
    private let executor: ReactorSerialExecutor
    private var calls = 0

    init(_ reactor: Reactor) {
        self.reactor = reactor
        executor = ReactorSerialExecutor(reactor)
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Counts the call and says whether it ran on the reactor's thread.
    func call() -> (count: Int, inLoop: Bool) {
        calls += 1
        return (calls, reactor.inLoop)
    }

    func callAfterSuspending() async -> Bool {
        await Task.yield()
        preconditionIsolated()  // the reactor's checkIsolated: traps off its thread
        return reactor.inLoop
    }
}

extension LibraryTests {
    /// The reactor as a Swift executor: a task that prefers it, and an actor that lives on it, run on its thread.
    @Suite struct ReactorExecutorTests {
        @Test func aTaskThatPrefersTheReactorRunsOnItsThread() async throws {
            try await withReactor { reactor in
                #expect(!reactor.inLoop)
                let inside = await withTaskExecutorPreference(reactor) { () async -> [Bool] in
                    var seen = [reactor.inLoop]
                    await Task.yield()
                    seen.append(reactor.inLoop)
                    // A child task inherits the preference.
                    async let child = reactor.inLoop
                    seen.append(await child)
                    return seen
                }
                #expect(inside == [true, true, true])
                #expect(!reactor.inLoop, "back on the caller's executor")
            }
        }

        @Test func anUnstructuredTaskWithTheReactorAsPreferenceRunsOnItsThread() async throws {
            try await withReactor { reactor in
                let task = Task(executorPreference: reactor) { () async -> Bool in
                    try? await Task.sleep(for: .milliseconds(1))  // a suspension: the task must resume there too
                    return reactor.inLoop
                }
                #expect(await task.value)
            }
        }

        @Test func anActorWhoseExecutorIsTheReactorRunsThere() async throws {
            try await withReactor { reactor in
                let actor = OnReactor(reactor)
                for expected in 1...3 {
                    let (count, inLoop) = await actor.call()
                    #expect(count == expected)
                    #expect(inLoop)
                }
                #expect(await actor.callAfterSuspending())
                // Calls from many tasks at once are serialised on the one thread.
                let results = await withTaskGroup(of: Bool.self) { group in
                    for _ in 0..<100 { group.addTask { await actor.call().inLoop } }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(results.count == 100 && results.allSatisfy { $0 })
                #expect(await actor.call().count == 104)
            }
        }
    }
}
