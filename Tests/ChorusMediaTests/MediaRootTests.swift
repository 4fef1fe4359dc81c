import ChorusCore
import ChorusMedia
import Foundation
import Testing

@Suite("MediaRoot resolves video_path safely")
struct MediaRootTests {
    let scratch: Scratch
    let root: MediaRoot
    let clip: String

    /// Layout: media/clip.mp4, media/sub/inner.mp4, media/folder/, media2/clip.mp4, secret.txt.
    init() throws {
        scratch = try Scratch()
        let media = try scratch.makeDirectory("media")
        _ = try scratch.makeDirectory("media/sub")
        _ = try scratch.makeDirectory("media/folder")
        _ = try scratch.makeDirectory("media2")
        clip = try scratch.write("not really a video", to: "media/clip.mp4")
        _ = try scratch.write("inner", to: "media/sub/inner.mp4")
        _ = try scratch.write("sibling", to: "media2/clip.mp4")
        _ = try scratch.write("secret", to: "secret.txt")
        root = try MediaRoot(path: media)
    }

    func error(resolving path: String) -> ChorusError? {
        do {
            let resolved = try root.resolve(path)
            Issue.record("expected an error, resolved to \(resolved)")
            return nil
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("video_path"), "\(error.message)")
            if !path.contains(root.path) {
                #expect(!error.message.contains(root.path), "leaks the root: \(error.message)")
            }
            return error
        }
    }

    @Test func rootIsCanonical() throws {
        let link = scratch.file("media-link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root.path)
        let viaLink = try MediaRoot(path: link + "/./")
        #expect(viaLink.path == root.path)
        #expect(!root.path.hasSuffix("/"))
    }

    @Test func rootMustBeAnExistingDirectory() {
        for bad in [scratch.file("nope"), scratch.file("secret.txt"), ""] {
            #expect(throws: ChorusError.self) { try MediaRoot(path: bad) }
            do {
                _ = try MediaRoot(path: bad)
            } catch {
                #expect(error.code == .failedPrecondition)
                #expect(error.message.contains("media root"))
            }
        }
    }

    @Test func relativePathResolves() throws {
        #expect(try root.resolve("clip.mp4") == root.path + "/clip.mp4")
        #expect(try root.resolve("sub/inner.mp4") == root.path + "/sub/inner.mp4")
        #expect(try root.resolve("./sub/../clip.mp4") == root.path + "/clip.mp4")
    }

    @Test func absolutePathInsideResolves() throws {
        #expect(try root.resolve(root.path + "/sub/inner.mp4") == root.path + "/sub/inner.mp4")
        #expect(try root.resolve(clip) == root.path + "/clip.mp4")
    }

    @Test func dotDotEscapeIsOutside() {
        #expect(error(resolving: "../secret.txt")?.message == "video_path '../secret.txt' is outside the media root")
        #expect(error(resolving: "sub/../../secret.txt")?.message.contains("outside the media root") == true)
        // A missing file outside gets the same answer, so probing cannot tell what exists there.
        #expect(error(resolving: "../no-such-file.mp4")?.message.contains("outside the media root") == true)
        #expect(error(resolving: "/etc/passwd")?.message == "video_path '/etc/passwd' is outside the media root")
    }

    @Test func symlinkEscapingTheRootIsOutside() throws {
        try FileManager.default.createSymbolicLink(atPath: root.path + "/escape.mp4", withDestinationPath: "../secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/up", withDestinationPath: "..")
        #expect(error(resolving: "escape.mp4")?.message == "video_path 'escape.mp4' is outside the media root")
        #expect(error(resolving: "up/secret.txt")?.message.contains("outside the media root") == true)
    }

    @Test func symlinkStayingInsideResolvesToTarget() throws {
        try FileManager.default.createSymbolicLink(atPath: root.path + "/alias.mp4", withDestinationPath: "sub/inner.mp4")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/dir-alias", withDestinationPath: "sub")
        #expect(try root.resolve("alias.mp4") == root.path + "/sub/inner.mp4")
        #expect(try root.resolve("dir-alias/inner.mp4") == root.path + "/sub/inner.mp4")
    }

    @Test func siblingWithCommonPrefixIsOutside() {
        let sibling = scratch.file("media2/clip.mp4")
        #expect(FileManager.default.fileExists(atPath: sibling))
        #expect(error(resolving: sibling)?.message.contains("outside the media root") == true)
        #expect(error(resolving: "../media2/clip.mp4")?.message.contains("outside the media root") == true)
    }

    @Test func missingFileIsNotFound() {
        #expect(error(resolving: "missing.mp4")?.message == "video_path 'missing.mp4' was not found in the media root")
        #expect(error(resolving: "clip.mp4/child")?.message.contains("was not found") == true)
    }

    @Test func directoryIsNotARegularFile() {
        #expect(error(resolving: "folder")?.message == "video_path 'folder' is not a regular file (it is a directory)")
        #expect(error(resolving: ".")?.message.contains("not a regular file") == true)
    }

    @Test func emptyAndNULAreRejected() {
        #expect(error(resolving: "")?.message == "video_path must not be empty")
        #expect(error(resolving: "clip.mp4\u{0}.txt")?.message == "video_path must not contain NUL characters")
    }

    @Test func worksAsTheCoreValidator() throws {
        let validator: any VideoPathValidator = root
        #expect(try validator.validateVideoPath("clip.mp4") == root.path + "/clip.mp4")
        #expect(throws: ChorusError.self) { try validator.validateVideoPath("../secret.txt") }
    }
}
