import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds serve --systemd: LISTEN_PIDFDID")
struct SystemdPidfdTests {
    /// As SystemdActivationTests' launcher, with LISTEN_PIDFDID set as newer systemd does: the inode number of a
    /// pidfd for the server's process (argv[3] "right"), or another number ("wrong").
    static let launcher = #"""
        import os, socket, sys, subprocess, signal
        uds, path, which = sys.argv[1], sys.argv[2], sys.argv[3]
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        pid = os.fork()
        if pid == 0:
            os.dup2(listener.fileno(), 3)
            os.set_inheritable(3, True)
            pidfd = os.pidfd_open(os.getpid())
            inode = os.fstat(pidfd).st_ino
            os.close(pidfd)
            os.environ.update(
                LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
                LISTEN_PIDFDID=str(inode if which == "right" else inode + 1))
            os.execv(uds, [uds, "serve", path, "--systemd", "--quiet"])
        listener.close()
        if which == "right":
            sent = subprocess.run([uds, "send", path, "activated"], capture_output=True, text=True, timeout=30)
            print("send", sent.returncode, sent.stdout.strip())
            os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print("server", os.waitstatus_to_exitcode(status))
        """#

    static func launch(_ which: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withTemporaryDirectory { dir in
            let python = try requireExecutable("python3")
            let script = dir + "/launch.py"
            try Self.launcher.write(toFile: script, atomically: true, encoding: .utf8)
            return try await ChildProcess.run(python, [script, udsExecutable, dir + "/a.sock", which], timeout: 60)
        }
    }

    @Test func theRightPidfdIDIsAccepted() async throws {
        let run = try await Self.launch("right")
        #expect(run.stdout == "send 0 9\nserver 0\n", "stderr: \(run.stderr)")
    }

    @Test func aWrongPidfdIDIsRefusedWithAClearError() async throws {
        let run = try await Self.launch("wrong")
        #expect(run.stdout == "server 1\n", "stderr: \(run.stderr)")
        #expect(
            run.stderr.contains("the sockets systemd passed are not for this process: LISTEN_PIDFDID is"),
            "\(run.stderr)")
    }
}
