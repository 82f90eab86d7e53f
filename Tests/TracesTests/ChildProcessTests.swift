// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Testing
import Traces

#if canImport(Glibc)
import Glibc
#endif

/// Runs `argv` to its end; its stdout, the stderr file's contents and the wait status.
private func finish(_ child: ChildProcess) -> (out: String, err: String, status: Int32) {
    let out = child.stdout >= 0 ? ChildProcess.readAll(child.stdout) : []
    if child.stdout >= 0 { close(child.stdout) }
    var status: Int32 = 0
    while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
    var err: [UInt8] = []
    if child.stderr >= 0 {
        lseek(child.stderr, 0, SEEK_SET)
        err = ChildProcess.readAll(child.stderr)
        close(child.stderr)
    }
    return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), status)
}

@Test func aChildGetsItsArgvAsIsAPipeAndAStderrFileAndNoOtherDescriptor() throws {
    // Words with spaces and shell characters reach the program unchanged: no shell in between.
    // `ls` alone, on the shell's stdout: in a pipeline (`ls | tr`) the shell itself held the pipe's read end (fd 3)
    // until it had started tr, and a slow start showed it to ls (seen once in CI under load); with a redirection
    // (`ls >&2`) dash keeps a copy of the redirected descriptor (fd 10) while the command runs.
    let script = "printf '%s|' \"$@\"; echo to-stderr >&2; ls /proc/$$/fd; exit 3"
    let child = try ChildProcess.start(["/bin/sh", "-c", script, "sh", "a b", "$HOME", ";", "*"], stdout: .pipe).get()
    #expect(child.stdout >= 0 && child.stderr >= 0)
    #expect(fcntl(child.stderr, F_GETFD) & FD_CLOEXEC != 0)
    let r = finish(child)
    #expect(r.out.hasPrefix("a b|$HOME|;|*|"))
    #expect(r.status >> 8 == 3)
    // The shell sees 0, 1 and 2 only (ls's own directory fd is not the shell's): the pipe's other end and the
    // stderr file are not inherited twice, nor any descriptor of this process.
    #expect(r.out == "a b|$HOME|;|*|0\n1\n2\n", "\(r.out)")
    #expect(r.err == "to-stderr\n", "\(r.err)")
}

@Test func aChildsEnvironmentPathAndProcessGroupAreAsAsked() throws {
    // A replaced environment; argv[0] looked up on PATH only when asked.
    let env = try ChildProcess.start(
        ["sh", "-c", "printf %s \"$PREWARM_CHILD_TEST:${HOME-unset}\""], searchPath: true, stdout: .pipe,
        environment: ["PATH=/usr/bin:/bin", "PREWARM_CHILD_TEST=yes"]
    ).get()
    #expect(finish(env).out == "yes:unset")
    switch ChildProcess.start(["sh", "-c", "true"]) {
    case .success: Issue.record("a relative program ran without searchPath")
    case .failure(let e): #expect(e.description == "cannot run sh: No such file or directory")
    }
    #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess.start([]).get() }
    // Its own process group: the child's group is its pid.
    let group = try ChildProcess.start(["/bin/sh", "-c", "ps -o pgid= -p $$"], stdout: .pipe, newProcessGroup: true)
        .get()
    let pid = group.pid
    #expect(finish(group).out.trimmingCharacters(in: " \n") == "\(pid)")
    let same = try ChildProcess.start(["/bin/sh", "-c", "ps -o pgid= -p $$"], stdout: .pipe).get()
    #expect(finish(same).out.trimmingCharacters(in: " \n") == "\(getpgrp())")
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
