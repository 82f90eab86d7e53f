// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func analyze(_ text: String, maxBytes: Int = BatchScriptAnalysis.defaultMaxBytes) -> BatchScriptAnalysis {
    BatchScriptAnalysis.analyze(text, maxBytes: maxBytes)
}

private func analyze(bytes: [UInt8], maxBytes: Int = BatchScriptAnalysis.defaultMaxBytes) -> BatchScriptAnalysis {
    bytes.withUnsafeBytes { BatchScriptAnalysis.analyze($0, maxBytes: maxBytes) }
}

private func d(_ name: String, _ value: String = "") -> SbatchDirective { SbatchDirective(name: name, value: value) }

private func feature(_ a: BatchScriptAnalysis, _ name: String) -> Float {
    guard let i = BatchScriptAnalysis.featureNames.firstIndex(of: name) else { return .nan }
    return a.features[i]
}

/// Output bounds that must hold for any input.
private func checkBounds(_ a: BatchScriptAnalysis, inputCount: Int, maxBytes: Int) {
    let cap = BatchScriptAnalysis.maxStringBytes
    #expect(a.bytesExamined == min(inputCount, max(0, maxBytes)))
    #expect(a.truncated == (inputCount > max(0, maxBytes)))
    #expect(a.lineCount <= a.bytesExamined)
    #expect(a.directives.count <= BatchScriptAnalysis.maxDirectives)
    #expect(a.modules.count <= BatchScriptAnalysis.maxModules)
    #expect(a.launcherCount >= 0 && a.launcherCount <= BatchScriptAnalysis.maxLaunchers)
    #expect(a.launchers.isEmpty == (a.launcherCount == 0))
    #expect(a.loopCount >= 0 && a.loopCount <= a.bytesExamined)
    #expect(a.gpuHints >= 0 && a.gpuHints <= 1 << 16)
    for s in a.directives.flatMap({ [$0.name, $0.value] }) + a.modules { #expect(s.utf8.count <= cap) }
    #expect((a.interpreter?.utf8.count ?? 0) <= cap)
    #expect((a.mainExecutable?.utf8.count ?? 0) <= cap)
    let f = a.features
    #expect(f.count == BatchScriptAnalysis.featureNames.count)
    #expect(f.allSatisfy { $0.isFinite })
    if !a.isText {
        #expect(a.directives.isEmpty && a.modules.isEmpty && a.launchers.isEmpty && a.mainExecutable == nil)
    }
}

@Suite("BatchScript static analysis")
struct BatchScriptTests {
    @Test("MPI job with srun: directives, modules, launcher program past srun options")
    func mpiWithSrun() {
        let script = """
            #!/bin/bash -l
            #SBATCH --job-name=lammps
            #SBATCH -N 4
            #SBATCH --ntasks-per-node=32
            #SBATCH -t 02:00:00
            #SBATCH --partition compute   # the big one
            #SBATCH -A proj123 --mem=0 --exclusive
            #SBATCH --output="out %j.log"

            # load software: module load not_loaded
            module purge
            module load gcc/12.2 openmpi/4.1.5
            module load lammps/2023

            cd $SLURM_SUBMIT_DIR
            export OMP_NUM_THREADS=1
            echo "Starting at $(date) with srun"
            srun hostname
            srun --mpi=pmix -n 128 --cpu-bind=cores /opt/lammps/bin/lmp_mpi -in in.lj > log.txt 2>&1
            echo done
            #SBATCH --time=5
            """
        let a = analyze(script)
        #expect(a.isText && !a.truncated)
        #expect(a.bytesExamined == script.utf8.count)
        #expect(a.lineCount == 21)
        #expect(a.interpreter == "bash")
        #expect(
            a.directives == [
                d("job-name", "lammps"), d("nodes", "4"), d("ntasks-per-node", "32"), d("time", "02:00:00"),
                d("partition", "compute"), d("account", "proj123"), d("mem", "0"), d("exclusive"),
                d("output", "out %j.log"),
            ])
        #expect(a.directive("time") == "02:00:00")
        #expect(a.launchers == [.srun])
        #expect(a.launcherCount == 2)
        #expect(a.modules == ["gcc/12.2", "openmpi/4.1.5", "lammps/2023"])
        #expect(a.mainExecutable == "lmp_mpi")
        #expect(a.gpuHints == 0)
        #expect(a.loopCount == 0)
        #expect(!a.arrayHint)
        #expect(feature(a, "script_time_limit_log") == Float(log1p(7200.0)))
        #expect(feature(a, "script_nodes") == 4)
        #expect(feature(a, "script_ntasks") == -1)
        #expect(feature(a, "script_uses_srun") == 1)
        #expect(feature(a, "script_uses_mpi") == 0)
        #expect(feature(a, "script_executable") == Float(BatchScriptAnalysis.stableID("lmp_mpi") & 0xFF_FFFF))
    }

    @Test("mpirun with CRLF, continuations, a here-document, a loop and env prefixes")
    func mpirunCRLF() {
        let lines = [
            "#!/bin/sh", "#SBATCH -n 8 -c2", "#SBATCH --time 1-12", "", "ml intel impi",
            "cat > input.txt <<EOF", "./not_the_program --x", "srun inside_heredoc", "EOF",
            "for i in 1 2 3; do", "  OMP_NUM_THREADS=4 mpirun -np 8 \\", "     --bind-to core -x LD_LIBRARY_PATH \\",
            "     --mca btl self,vader $HOME/bin/app input.txt $i", "done",
        ]
        let a = analyze(lines.joined(separator: "\r\n") + "\r\n")
        #expect(a.isText)
        #expect(a.lineCount == 14)
        #expect(a.interpreter == "sh")
        #expect(a.directives == [d("ntasks", "8"), d("cpus-per-task", "2"), d("time", "1-12")])
        #expect(feature(a, "script_time_limit_log") == Float(log1p(Double(36 * 3600))))
        #expect(feature(a, "script_ntasks") == 8)
        #expect(a.modules == ["intel", "impi"])
        #expect(a.launchers == [.mpirun])
        #expect(a.launcherCount == 1)
        #expect(a.mainExecutable == "app")
        #expect(a.loopCount == 1)
        #expect(a.gpuHints == 0)
    }

    @Test("torchrun GPU job: GRES count, CUDA module, the training script as the program")
    func torchrunGPU() {
        let script = """
            #!/usr/bin/env bash
            #SBATCH --gres=gpu:a100:4,tmpfs:10G
            #SBATCH --cpus-per-task=32 --time=48:00:00

            module load cuda/12.1 python/3.11
            source venv/bin/activate
            nvidia-smi
            export CUDA_VISIBLE_DEVICES=0,1,2,3
            time torchrun --standalone --nproc_per_node=4 train.py --epochs 10
            python -u evaluate.py
            """
        let a = analyze(script)
        #expect(a.interpreter == "bash")
        #expect(a.directives == [d("gres", "gpu:a100:4,tmpfs:10G"), d("cpus-per-task", "32"), d("time", "48:00:00")])
        #expect(a.gpuHints == 4)
        #expect(a.launchers == [.torchrun])
        #expect(a.mainExecutable == "train.py")
        #expect(a.modules == ["cuda/12.1", "python/3.11"])
        #expect(feature(a, "script_uses_dl_launcher") == 1)
        #expect(feature(a, "script_cpus_per_task") == 32)
    }

    @Test("GPU hints: only hinted gives 1; srun -G and python -m torch.distributed.run count")
    func gpuHints() {
        #expect(analyze("#!/bin/bash\nmodule load CUDA/11.8\n./sim\n").gpuHints == 1)
        #expect(analyze("#!/bin/bash\nnvidia-smi -L\n./sim\n").gpuHints == 1)
        #expect(analyze("#!/bin/bash\necho $CUDA_VISIBLE_DEVICES\n").gpuHints == 1)
        #expect(analyze("#!/bin/bash\n./sim\n").gpuHints == 0)
        #expect(analyze("#!/bin/bash\n#SBATCH --gpus=v100:2,a100:1\n./sim\n").gpuHints == 3)
        #expect(analyze("#!/bin/bash\n#SBATCH --gres=gpu\n./sim\n").gpuHints == 1)
        #expect(analyze("#!/bin/bash\n#SBATCH --gres=tmpfs:10G\n./sim\n").gpuHints == 0)
        let a = analyze("#!/bin/bash\n#SBATCH -G 2\nsrun --gpus-per-task=1 -n 8 python -m torch.distributed.run --nproc_per_node 2 main.py\n")
        #expect(a.launchers == [.srun, .torchrun])
        #expect(a.launcherCount == 2)
        #expect(a.mainExecutable == "main.py")
        #expect(a.gpuHints == 2)
        #expect(a.directives == [d("gpus", "2")])
    }

    @Test("array job: SLURM_ARRAY_TASK_ID inside $(…), a while loop, exec and a trailing comment")
    func arrayJob() {
        let script = """
            #!/bin/bash
            #SBATCH -J sweep
            #SBATCH --mem-per-cpu=2G
            INPUT=$(sed -n "${SLURM_ARRAY_TASK_ID}p" list.txt)
            while read -r line; do
              echo "$line"
            done < "$INPUT"
            exec ./process_one --input "$INPUT"   # ./not_this
            """
        let a = analyze(script)
        #expect(a.arrayHint)
        #expect(a.directives == [d("job-name", "sweep"), d("mem-per-cpu", "2G")])
        #expect(a.loopCount == 1)
        #expect(a.mainExecutable == "process_one")
        #expect(a.launchers.isEmpty && a.launcherCount == 0)
        #expect(analyze("#!/bin/bash\n#SBATCH --array=1-100%10\n./x\n").arrayHint)
        #expect(analyze("#!/bin/bash\n#SBATCH -a 1-3\n./x\n").arrayHint)
        #expect(!analyze("#!/bin/bash\n# SLURM_ARRAY_TASK_ID in a comment\n./x\n").arrayHint)
    }

    @Test("ml loads, swaps and subcommands; duplicates collapse")
    func modules() {
        let script = """
            #!/bin/bash
            ml purge
            ml GCC/12.3.0 OpenMPI/4.1.5 -Python
            module -q add  netCDF/4.9
            module load GCC/12.3.0
            module swap OpenMPI/4.1.5 OpenMPI/5.0
            ml load HDF5
            ml spider foo
            module list
            module use /opt/modules
            ./wrf.exe
            """
        let a = analyze(script)
        #expect(a.modules == ["GCC/12.3.0", "OpenMPI/4.1.5", "netCDF/4.9", "OpenMPI/5.0", "HDF5"])
        #expect(a.mainExecutable == "wrf.exe")
        #expect(a.gpuHints == 0)
    }

    @Test("main executable: prefixes, interpreters, utilities and the first non-utility launcher line")
    func mainExecutable() {
        #expect(analyze("#!/bin/bash\ncd x; time ./prog -a 1\necho ok\n").mainExecutable == "prog")
        #expect(analyze("#!/bin/bash\nOMP_NUM_THREADS=4 nice -n 5 ./prog\n").mainExecutable == "prog")
        #expect(analyze("#!/bin/bash\nenv -u X A=1 numactl --membind 0 /bin/stream.x\n").mainExecutable == "stream.x")
        #expect(analyze("#!/bin/bash\npython3 -W ignore run.py\n").mainExecutable == "run.py")
        #expect(analyze("#!/bin/bash\npython -m mypkg.train --x\n").mainExecutable == "mypkg.train")
        #expect(analyze("#!/bin/bash\npython -c 'print(1)'\n").mainExecutable == "python")
        #expect(analyze("#!/bin/bash\npython3 \"\"\n").mainExecutable == "python3")
        #expect(analyze("#!/bin/bash\njava -Xmx4g -jar /opt/app.jar\n").mainExecutable == "app.jar")
        #expect(analyze("#!/bin/bash\nbash ./steps.sh\n").mainExecutable == "steps.sh")
        #expect(analyze("#!/bin/bash\nmkdir -p out && cp a b\n").mainExecutable == nil)
        #expect(analyze("#!/bin/bash\n./pre\nsrun -l hostname\nmpiexec -n 4 ./solver\n./post\n").mainExecutable == "solver")
        #expect(analyze("#!/bin/bash\n./pre\n./post arg >out 2>&1\n").mainExecutable == "post")
        #expect(analyze("#!/bin/bash\n\"./quoted prog\" x\n").mainExecutable == "quoted prog")
        #expect(analyze("#!/bin/bash\nif [ -f x ]; then ./a; else ./b; fi\n").mainExecutable == "b")
        #expect(analyze("#!/bin/bash\nFILES=(x.dat y.dat)\n./run\nfoo() {\n  echo\n}\n").mainExecutable == "run")
        #expect(analyze("#!/bin/bash\nfor ((i=0; i<3; i++)); do ./step $i; done\n").loopCount == 1)
        #expect(analyze("#!/bin/bash\nfor ((i=0; i<3; i++)); do ./step $i; done\n").mainExecutable == "step")
        #expect(analyze("#!/bin/bash\ncharmrun +p8 ++local ./namd2 in.conf\n").mainExecutable == "namd2")
        #expect(analyze("#!/bin/bash\naccelerate launch --num_processes 2 --multi_gpu fine.py\n").mainExecutable == "fine.py")
        #expect(analyze("#!/bin/bash\naccelerate launch --num_processes 2 --multi_gpu fine.py\n").gpuHints == 2)
    }

    @Test("case patterns and function definitions are not commands")
    func caseAndFunctions() {
        let script = """
            #!/bin/bash
            run() {
              srun -n 2 ./solver "$@"
            }
            case "$MODE" in
              a|b) ./alpha ;;
              zzz) ;;
            esac
            """
        let a = analyze(script)
        #expect(a.mainExecutable == "solver")
        #expect(a.launcherCount == 1)
        let b = analyze("#!/bin/bash\ncase $x in\n  a|b) ./alpha ;;\n  zzz) ;;\nesac\n")
        #expect(b.mainExecutable == "alpha")
    }

    @Test("directives: sbatch's reading rules")
    func directiveRules() {
        // Leading whitespace makes a comment (sbatch matches "#SBATCH" at column 0); a command ends the header.
        let a = analyze("#!/bin/bash\n  #SBATCH -N 9\n#SBATCH -N2 -vp \"debug q\" --begin now+1hour\n\necho x\n#SBATCH -t 5\n")
        #expect(a.directives == [d("nodes", "2"), d("verbose"), d("partition", "debug q"), d("begin", "now+1hour")])
        // Escapes, single quotes, comment after the options, -- ends options, stray words skipped.
        let b = analyze("#SBATCH --comment='a b'\\ c -t10 # -N 3\n#SBATCH hetjob -n1 -- -N5\n")
        #expect(b.directives == [d("comment", "a b c"), d("time", "10"), d("ntasks", "1")])
        #expect(b.interpreter == nil)
        #expect(feature(b, "script_time_limit_log") == Float(log1p(600.0)))
        // The cap on the number of directives.
        let many = (0 ..< 100).map { "#SBATCH --opt\($0)=\($0)" }.joined(separator: "\n")
        #expect(analyze(many).directives.count == BatchScriptAnalysis.maxDirectives)
        #expect(analyze(many).directives.last == d("opt63", "63"))
    }

    @Test("non-shell interpreter: directives only, the interpreter is the program")
    func pythonScript() {
        let a = analyze("#!/usr/bin/env -S python3 -u\n#SBATCH --time=10\nimport os\nos.system('srun ./x')\nfor x in y: pass\n")
        #expect(a.interpreter == "python3")
        #expect(a.directives == [d("time", "10")])
        #expect(a.launchers.isEmpty)
        #expect(a.loopCount == 0)
        #expect(a.mainExecutable == "python3")
    }

    @Test("empty, shebang-only and blank scripts")
    func degenerate() {
        let empty = analyze("")
        #expect(empty == BatchScriptAnalysis())
        #expect(empty.isText && empty.lineCount == 0 && empty.bytesExamined == 0)
        let shebang = analyze("#!/bin/bash")
        #expect(shebang.interpreter == "bash" && shebang.lineCount == 1 && shebang.mainExecutable == nil)
        #expect(analyze("#!").interpreter == nil)
        #expect(analyze("\n\n   \n").lineCount == 3)
        #expect(analyze("\\").mainExecutable == nil)
        #expect(analyze("\"\" x").mainExecutable == nil)
    }

    @Test("truncation at maxBytes")
    func truncation() {
        let script = "#!/bin/bash\n#SBATCH -t 10\n./first\n./second\n"
        let a = analyze(script, maxBytes: 40)  // cuts inside "./second"
        #expect(a.truncated && a.bytesExamined == 40)
        #expect(a.mainExecutable == "seco")
        #expect(a.lineCount == 4)
        let none = analyze(script, maxBytes: -5)
        #expect(none.truncated && none.bytesExamined == 0 && none.directives.isEmpty)
        let whole = analyze(script, maxBytes: Int.max)
        #expect(!whole.truncated && whole.mainExecutable == "second")
        // A big script is read up to the default cap.
        let big = "#!/bin/bash\n" + String(repeating: "echo hello world\n", count: 10_000) + "./late\n"
        let b = analyze(big)
        #expect(b.truncated && b.bytesExamined == BatchScriptAnalysis.defaultMaxBytes)
        #expect(b.mainExecutable == nil)
        // UTF-8 cut by truncation is still text.
        let e = analyze("#!/bin/bash\n./caf\u{E9}", maxBytes: 18)
        #expect(e.isText && e.truncated)
    }

    @Test("long words and values are cut to maxStringBytes at a character boundary")
    func longStrings() {
        let long = String(repeating: "é", count: 500)
        let a = analyze("#!/bin/bash\n#SBATCH --comment=\(long)\nmodule load \(long)\n./\(long)\n")
        let cap = BatchScriptAnalysis.maxStringBytes
        #expect(a.directives.first?.value == String(repeating: "é", count: cap / 2))
        #expect(a.modules.first == String(repeating: "é", count: cap / 2))
        #expect(a.mainExecutable == String(repeating: "é", count: cap / 2))
        let x = String(repeating: "x", count: 100_000)
        let b = analyze("#!/bin/bash\n" + x)
        #expect(b.mainExecutable?.utf8.count == cap)
    }

    @Test("binary junk is not text and yields only sizes")
    func binary() {
        var bytes = Array("#!/bin/bash\n#SBATCH -N 2\nsrun ./x\n".utf8)
        bytes.append(0)
        let a = analyze(bytes: bytes)
        #expect(!a.isText)
        #expect(a.directives.isEmpty && a.mainExecutable == nil && a.interpreter == nil)
        #expect(a.lineCount == 4 && a.bytesExamined == bytes.count)
        #expect(feature(a, "script_is_text") == 0)
        #expect(feature(a, "script_gpu_hints") == -1)
        let ff = analyze(bytes: [UInt8](repeating: 0xFF, count: 1000))
        #expect(!ff.isText && ff.lineCount == 1)
        // A few invalid bytes in a long text script are tolerated.
        var mostly = Array(("#!/bin/bash\n" + String(repeating: "echo fine\n", count: 20) + "./prog\n").utf8)
        mostly[14] = 0xFF
        #expect(analyze(bytes: mostly).isText)
        #expect(analyze(bytes: mostly).mainExecutable == "prog")
    }

    @Test("any byte sequence: no trap, bounded outputs")
    func randomInputs() {
        var rng = Xoshiro256StarStar(seed: 2024)
        // Every single byte and every byte after a shell-significant prefix.
        for v in 0 ... 255 {
            for prefix in [[], Array("#SBATCH -".utf8), Array("srun ".utf8), Array("a=$(".utf8), Array("<<".utf8)] {
                let input = prefix + [UInt8(v)]
                checkBounds(analyze(bytes: input), inputCount: input.count, maxBytes: BatchScriptAnalysis.defaultMaxBytes)
            }
        }
        // Truncated and overlong UTF-8 sequences.
        for seq: [UInt8] in [[0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]] {
            let input = Array("./a".utf8) + seq
            checkBounds(analyze(bytes: input), inputCount: input.count, maxBytes: 64)
        }
        let alphabet = Array(" \t\r\n\n#!\"'`\\$(){}[];&|<>=-+,:/*@?%0123456789abcdeGNSTmln_.".utf8)
        let words = [
            "#SBATCH ", "--gres=gpu:", "-G ", "srun ", "mpirun ", "-np ", "torchrun ", "python ", "-m ", "module load ",
            "ml ", "for ", "while ", "do ", "done", "case ", " in ", ";;", "esac", "<<EOF\n", "\nEOF\n", "$(", "${",
            "((", "))", "exec ", "env ", "time ", "\\\n", "\r\n", "SLURM_ARRAY_TASK_ID", "CUDA_VISIBLE_DEVICES=",
            "#!/usr/bin/env ", "java -jar ", "numactl -N ", "accelerate launch ",
        ].map { Array($0.utf8) }
        let realistic = Array(
            "#!/bin/bash\n#SBATCH -N 2 -t 1:00:00\n#SBATCH --gres=gpu:2\nmodule load cuda\nsrun -n 4 ./app\n".utf8)
        for round in 0 ..< 4000 {
            var input: [UInt8] = []
            let length = rng.next(below: 600)
            switch round % 4 {
            case 0:
                for _ in 0 ..< length { input.append(UInt8(truncatingIfNeeded: rng.next())) }
            case 1:
                for _ in 0 ..< length { input.append(alphabet[rng.next(below: alphabet.count)]) }
            case 2:
                while input.count < length {
                    if rng.next(below: 3) == 0 {
                        input.append(alphabet[rng.next(below: alphabet.count)])
                    } else {
                        input += words[rng.next(below: words.count)]
                    }
                }
            default:
                input = realistic
                for _ in 0 ..< 1 + rng.next(below: 6) {
                    input[rng.next(below: input.count)] = UInt8(truncatingIfNeeded: rng.next())
                }
                input = Array(input.prefix(rng.next(below: input.count + 1)))
            }
            let maxBytes = rng.next(below: 4) == 0 ? rng.next(below: 700) - 50 : BatchScriptAnalysis.defaultMaxBytes
            let a = analyze(bytes: input, maxBytes: maxBytes)
            checkBounds(a, inputCount: input.count, maxBytes: maxBytes)
            // Deterministic.
            #expect(a == analyze(bytes: input, maxBytes: maxBytes))
        }
    }

    @Test("stableID is FNV-1a with the top bit cleared")
    func stableID() {
        #expect(BatchScriptAnalysis.stableID("") == 18_652_613)  // 0x811C9DC5 & 0x7FFFFFFF
        #expect(BatchScriptAnalysis.stableID("a") == 1_678_518_572)  // 0xE40C292C & 0x7FFFFFFF
        #expect(BatchScriptAnalysis.stableID("foobar") == 1_067_252_072)  // 0xBF9CF968 & 0x7FFFFFFF
        #expect(BatchScriptAnalysis.stableID("lmp_mpi") == 1_855_973_453)
        #expect(BatchScriptAnalysis.stableID("lmp_mpi") == BatchScriptAnalysis.stableID("lmp_" + "mpi"))
        for name in ["srun", "python3", "é", String(repeating: "z", count: 1000)] {
            #expect(BatchScriptAnalysis.stableID(name) >= 0)
        }
    }

    @Test("feature vector shape and unknowns")
    func features() {
        #expect(Set(BatchScriptAnalysis.featureNames).count == BatchScriptAnalysis.featureNames.count)
        let a = analyze("#!/bin/bash\n#SBATCH -t UNLIMITED\n#SBATCH -n 2-4\n./x\n")
        #expect(a.features.count == BatchScriptAnalysis.featureNames.count)
        #expect(feature(a, "script_time_limit_log") == -1)
        #expect(feature(a, "script_ntasks") == 2)
        #expect(feature(a, "script_interpreter") == Float(BatchScriptAnalysis.stableID("bash") & 0xFF_FFFF))
        #expect(feature(a, "script_lines_log") == Float(log1p(4.0)))
        #expect(LauncherSet([.srun, .torchrun]).names == ["srun", "torchrun"])
    }
}
