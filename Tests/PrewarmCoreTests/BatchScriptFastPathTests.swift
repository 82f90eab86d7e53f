// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

/// The scanner's fast path for simple utility lines (``ScriptScanner/skipUtilityLine(from:)``) must not change
/// any analysis: every script is analysed with and without it and the results compared whole.
@Suite("BatchScript fast path")
struct BatchScriptFastPathTests {
    private static func both(_ bytes: [UInt8], maxBytes: Int = BatchScriptAnalysis.defaultMaxBytes)
        -> (fast: BatchScriptAnalysis, general: BatchScriptAnalysis)
    {
        bytes.withUnsafeBytes {
            (
                BatchScriptAnalysis.analyze($0, maxBytes: maxBytes, fastPaths: true),
                BatchScriptAnalysis.analyze($0, maxBytes: maxBytes, fastPaths: false)
            )
        }
    }

    /// Lines near the edges of the fast path: utilities with plain words, and the many ways a line leaves it.
    static let lines: [String] = [
        "cp input.1 work/  # stage the input", "cp a b", "cd", "cd\tdir", "echo $HOME", "echo ${HOME}",
        "echo \"quoted\"", "echo 'single'", "echo `date`", "echo $(hostname)", "echo a#b", "echo #comment",
        "echo a \\", "continued", "cd /x; srun ./y", "cd /x && mpirun ./z", "ls | grep x", "rm -rf x &",
        "cp a b\r", "echo a\u{0B}b", "echo a\u{0C}b", "/bin/cp a b", "cp=3", "cp+=x", "env X=1 srun ./app",
        "time srun ./t", "export CUDA_VISIBLE_DEVICES=0", "echo SLURM_ARRAY_TASK_ID", "echo ABCDEFGHIJKLMNOPQ",
        "echo ABCDEFGHIJKLMNOPQR", "echo abcdefghijklmnopqrstu_v", "echo x SLURM_ARRAY_JOB_ID y",
        "cat <<EOF", "srun fake_in_heredoc", "EOF", "cat <<-'END'", "\tEND", "cat < in > out", "echo 2>&1",
        "case $x in", "a) cp x y;;", "b) srun ./case_app ;;", "esac", "for i in 1 2; do", "done",
        "while true; do", "if true; then", "fi", "f() {", "}", "{ cp a b; }", "(cd x; ./sub)", "((i++))",
        "nvidia-smi", "module load cuda/12 gcc", "ml python", "srun -n 4 ./app", "python train.py --lr 1",
        "mpirun -np 8 lmp -in in.lj", "./a.out", "exec ./b.out", "sleep 10 # wait", "echo é ünïcode",
        "echo \u{00FF}\u{00FE}", "true", ":", "[ -f x ] && srun ./cond", "test -d y", "echo {a,b}",
        "echo a=(1 2)", "echo @(x)", "echo *.c ?.h [ab]", "cd ~user", "echo %d", "echo !x", "echo -- -n",
        "unknowncmd arg", "sha256sum file", "deactivate", "conda activate env", "", "   ", "\t", "#", "# only",
        "  cp a b", "\tcp a b # x", "cp a b #", "cp a b#c", "cp\u{00A0}a",
    ]

    private static func generated(_ rng: inout Xoshiro256StarStar) -> [UInt8] {
        var text = rng.next(below: 4) == 0 ? "" : "#!/bin/bash\n#SBATCH -N 1 -t 10\n"
        for _ in 0 ..< 1 + rng.next(below: 40) {
            text += lines[rng.next(below: lines.count)]
            text += rng.next(below: 8) == 0 ? "; " : "\n"
        }
        var bytes = Array(text.utf8)
        if rng.next(below: 3) == 0 { bytes = Array(bytes.prefix(rng.next(below: bytes.count + 1))) }
        if rng.next(below: 5) == 0 && !bytes.isEmpty {
            for _ in 0 ..< 1 + rng.next(below: 4) {
                bytes[rng.next(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            }
        }
        return bytes
    }

    @Test("every listed line alone, after a header and inside a script: identical with and without the fast path")
    func listedLines() {
        for line in Self.lines {
            for text in [line, line + "\n", "#!/bin/bash\n" + line + "\n", "cd x\n" + line + "\ncp a b\n./app\n"] {
                let r = Self.both(Array(text.utf8))
                #expect(r.fast == r.general, "\(text.debugDescription)")
            }
        }
    }

    @Test("generated, real-looking and random scripts: identical with and without the fast path")
    func generatedScripts() {
        var rng = Xoshiro256StarStar(seed: 77)
        var fastLines = 0
        for round in 0 ..< 6000 {
            var input: [UInt8]
            switch round % 3 {
            case 0: input = Self.generated(&rng)
            case 1: input = (0 ..< rng.next(below: 700)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default:
                // bench/submit-latency's 4 KB script.
                var text = "#!/bin/bash\n#SBATCH --time=\(1 + round % 12):00:00\n#SBATCH --ntasks=4\n"
                    + "module load gcc/12 openmpi/4.1\nexport OMP_NUM_THREADS=1\n"
                var i = 0
                while text.utf8.count < 4000 {
                    text += "cp input.\(i) work/  # stage the input of step \(i) for the solver run\n"
                    i += 1
                }
                text += ["srun lmp -in in.lj\n", "srun python3 train.py -in in.lj\n", "mpirun ./a.out\n"][round % 3]
                input = Array(text.utf8)
                if round % 2 == 0 {
                    let special = Array("\"'\\;|&<>$(){}\r\n#".utf8)
                    input[rng.next(below: input.count)] = special[rng.next(below: special.count)]
                }
            }
            let maxBytes = rng.next(below: 5) == 0 ? rng.next(below: 800) : BatchScriptAnalysis.defaultMaxBytes
            let r = Self.both(input, maxBytes: maxBytes)
            #expect(r.fast == r.general, "round \(round): \(String(decoding: input, as: UTF8.self).debugDescription)")
            if r.fast != r.general { return }
            if round % 3 == 2 { fastLines += 1 }
        }
        #expect(fastLines == 2000)
    }
}
