import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    @Suite struct UnixSocketAddressTests {
        @Test func maximumPathLengthIsSunPathLessItsTerminatingNUL() {
            #if os(Linux)
                #expect(UnixSocketAddress.maximumPathLength == 107)
            #else
                #expect(UnixSocketAddress.maximumPathLength == 103)
            #endif
        }

        @Test func pathLongerThanTheLimitThrowsPathTooLongNamingLengthAndLimit() throws {
            let limit = UnixSocketAddress.maximumPathLength
            // A file name this long cannot go through /proc/self/fd either (see LongPathTests for paths that can).
            let path = "/tmp/" + String(repeating: "x", count: limit + 1 - 5)
            #expect(path.utf8.count == limit + 1)
            let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress(path) }
            #expect(error.code == .pathTooLong)
            #expect(error.description.contains("\(limit + 1)"))
            #expect(error.description.contains("\(limit)"))
        }

        @Test func lengthIsCountedInBytesNotCharacters() throws {
            let limit = UnixSocketAddress.maximumPathLength
            // 54 two-byte characters: 108 bytes, though only 54 characters plus the slash.
            let path = "/" + String(repeating: "é", count: (limit + 1) / 2)
            #expect(path.utf8.count > limit)
            let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress(path) }
            #expect(error.code == .pathTooLong)
            #expect(error.description.contains("\(path.utf8.count)"))
        }

        @Test(arguments: ["", "/tmp/a\0b", "\0"])
        func emptyPathOrNULByteIsAnInvalidAddress(path: String) throws {
            let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress(path) }
            #expect(error.code == .invalidAddress)
        }

        @Test func ordinaryPathIsAPath() throws {
            let address = try UnixSocketAddress("/tmp/app.sock")
            #expect(address.path == "/tmp/app.sock")
            #expect(!address.isAbstract)
            #expect(address.description == "/tmp/app.sock")
        }

        #if os(Linux)
            @Test func atSignMakesAnAbstractName() throws {
                let address = try UnixSocketAddress("@udskit-name")
                #expect(address.isAbstract)
                #expect(address.path == nil)
                #expect(address.description == "@udskit-name")
                #expect(address == (try UnixSocketAddress(abstractName: "udskit-name")))
                #expect(address != (try UnixSocketAddress("udskit-name")))
            }

            @Test func emptyAbstractNameIsAnInvalidAddress() throws {
                let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress("@") }
                #expect(error.code == .invalidAddress)
            }

            @Test func abstractNameLongerThanTheLimitThrowsPathTooLong() throws {
                let name = "@" + String(repeating: "n", count: UnixSocketAddress.maximumPathLength + 1)
                let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress(name) }
                #expect(error.code == .pathTooLong)
            }

            @Test func serverOnAnAbstractNameServesAndLeavesNoFile() async throws {
                let name = "@udskit-test-\(UInt64.random(in: 0...UInt64.max))"
                try await withRunningServer(at: name, handler: .acknowledge) { _ in
                    let delivered = try await makeClient(name).deliver("abstract")
                    #expect(delivered == 8)
                }
                // It was not taken for a relative path.
                #expect(!fileExists(name))
            }
        #endif

        @Test func pathOfExactlyTheLimitBindsAndServes() async throws {
            try await withTemporaryDirectory { directory in
                let path = try makePath(ofLength: UnixSocketAddress.maximumPathLength, in: directory)
                #expect(path.utf8.count == UnixSocketAddress.maximumPathLength)
                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let client = try makeClient(path)
                    #expect(FileInfo(at: path)?.kind == .socket)
                    #expect(try await client.deliver("at the limit") == 12)
                }
                #expect(!fileExists(path))
            }
        }

        /// Makes directories under `directory` so that `directory/…/s` is exactly `length` bytes; returns that path.
        private func makePath(ofLength length: Int, in directory: String) throws -> String {
            var path = directory
            // Directories of 20 bytes while more than "/" + 20 bytes + "/" + 1 byte is left; then the file name.
            while length - path.utf8.count > 22 {
                path += "/" + String(repeating: "d", count: 20)
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
            let name = String(repeating: "s", count: length - path.utf8.count - 1)
            return path + "/" + name
        }
    }
}
