// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import PrewarmCore

@main
struct Prewarm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prewarm",
        abstract: "Predict job runtimes and cluster demand so Slurm nodes are powered before jobs need them.",
        version: "prewarm \(PrewarmVersion.string)",
        subcommands: [
            Evaluate.self, Features.self, TraceInfo.self, ForestBench.self, PredictBench.self, Simulate.self,
            Train.self, Retrain.self, History.self, Predict.self, Forecast.self, Status.self, Resume.self, Suspend.self,
            ResumeFail.self, Check.self, SlurmProbe.self, CycleBench.self, ForecastError.self,
        ]
    )
}
