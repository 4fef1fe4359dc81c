import Foundation

#if canImport(Glibc)
import CBenchSupport
import Glibc
#endif

/// What waking a sleeping thread costs on this machine, by how long its CPU was idle before.
///
/// Every hop of a call through Chorus (client → event loop → curl's thread → upstream and back)
/// wakes a thread that is blocked in `epoll_wait` or `read`. On a bare-metal core that costs a few
/// microseconds. On a VM without a cpuidle driver an idle vCPU halts, and once the hypervisor has
/// stopped polling for it, waking it again is a round trip through the host: on this project's
/// Firecracker VM 50–290 µs per wake-up (p50) after 200 µs or more of idleness, against ~10 µs
/// after a shorter pause, and at slow moments already after 50 µs. A lone call pays that on every
/// hop whose thread waited long enough (the direct upstream path has two hops, Chorus's path six):
/// the one-caller gateway-overhead figures move with it from run to run.
///
/// Two threads pinned to different CPUs ping-pong through two pipes; before each round trip
/// the initiator sleeps `idleMicros`, so both CPUs sit idle that long. A round trip is two
/// wake-ups: the peer's (idle `idleMicros`) and the initiator's (idle only for the round trip).
/// CPUs 0 and 1 are used; where pinning fails (a cpuset without them) the threads run unpinned.
public struct WakeLatency: Codable, Sendable {
    public var idleMicros: Int
    public var roundTrips: Int
    public var p50Micros: Double
    public var p90Micros: Double

    /// Measures each idle time in turn; empty on a single-CPU machine and off Linux (CPU affinity).
    public static func measure(idleMicros: [Int] = [0, 50, 500], roundTrips: Int = 1_000) -> [WakeLatency] {
        #if canImport(Glibc)
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { return [] }
        return idleMicros.compactMap { measure(idle: $0, roundTrips: roundTrips) }
        #else
        return []
        #endif
    }

    #if canImport(Glibc)

    private static func measure(idle: Int, roundTrips: Int) -> WakeLatency? {
        let warmUp = 100
        var pingPipe: [Int32] = [0, 0]
        var pongPipe: [Int32] = [0, 0]
        guard pipe(&pingPipe) == 0 else { return nil }
        guard pipe(&pongPipe) == 0 else {
            close(pingPipe[0]); close(pingPipe[1])
            return nil
        }
        defer { for fd in pingPipe + pongPipe { close(fd) } }
        let (pingRead, pingWrite, pongRead, pongWrite) = (pingPipe[0], pingPipe[1], pongPipe[0], pongPipe[1])
        let peer = Thread {
            pin(toCPU: 1)
            var value: UInt64 = 0
            for _ in 0..<(warmUp + roundTrips) {
                guard read(pingRead, &value, 8) == 8, write(pongWrite, &value, 8) == 8 else { return }
            }
        }
        let done = DispatchSemaphore(value: 0)
        let measured = Locked<[Double]>([])
        // The initiator is a thread of its own too: pinning must not touch the caller's thread.
        let initiator = Thread {
            pin(toCPU: 0)
            var value: UInt64 = 1
            var samples: [Double] = []
            samples.reserveCapacity(roundTrips)
            for trip in 0..<(warmUp + roundTrips) {
                if idle > 0 { usleep(UInt32(idle)) }
                let start = DispatchTime.now().uptimeNanoseconds
                guard write(pingWrite, &value, 8) == 8, read(pongRead, &value, 8) == 8 else { break }
                // The first trips also pay for the threads' start and migration to their CPUs.
                if trip >= warmUp { samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000) }
            }
            measured.withLock { $0 = samples }
            done.signal()
        }
        peer.start()
        initiator.start()
        done.wait()
        var samples = measured.value
        guard samples.count == roundTrips else { return nil }
        samples.sort()
        return WakeLatency(
            idleMicros: idle, roundTrips: roundTrips,
            p50Micros: samples[samples.count / 2], p90Micros: samples[samples.count * 9 / 10])
    }

    private static func pin(toCPU cpu: Int) {
        _ = cbench_pin_current_thread(Int32(cpu))
    }
    #endif
}
