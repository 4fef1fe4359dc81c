@testable import ChorusMedia
import Foundation
import Testing

@Suite("SHA256 matches FIPS 180-4")
struct SHA256Tests {
    func hex(_ text: String) -> String {
        SHA256.hex(SHA256.hash(Array(text.utf8)))
    }

    @Test func fipsVectors() {
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionAs() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(SHA256.hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalMatchesOneShotAcrossBlockBoundaries() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = SHA256.hash(message)
        #expect(expected.count == 32)
        for split in [0, 1, 55, 56, 63, 64, 65, 119, 128, 999] {
            var hasher = SHA256()
            hasher.update(message[..<split])
            hasher.update(message[split...].lazy.map { $0 })   // a non-contiguous sequence
            #expect(hasher.finalize() == expected, "split at \(split)")
        }
        // Lengths around the padding boundary (55/56 bytes need one vs two final blocks).
        for length in 54...66 {
            let bytes = [UInt8](repeating: 0x61, count: length)
            var hasher = SHA256()
            for byte in bytes { hasher.update(CollectionOfOne(byte)) }
            #expect(hasher.finalize() == SHA256.hash(bytes), "length \(length)")
        }
    }

    @Test func hashFileMatchesSha256sum() async throws {
        let scratch = try Scratch()
        let video = try await scratch.makeVideo()
        // Bigger than one 1 MiB read block, to cover the loop.
        let large = scratch.file("large.bin")
        try Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }).write(to: URL(fileURLWithPath: large))
        for path in [video, large] {
            let output = try await runTool("sha256sum", [path])
            let expected = String(decoding: output.stdout, as: UTF8.self).split(separator: " ").first.map(String.init)
            #expect(try SHA256.hashFile(atPath: path) == expected)
        }
    }

    @Test func hashFileOfMissingFileThrows() {
        #expect(throws: (any Error).self) { try SHA256.hashFile(atPath: "/nonexistent/chorus/video.mp4") }
    }
}
