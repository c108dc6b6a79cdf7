import ArgumentParser

/// `--scenario oneshot` and the like, for `uds bench` and `uds-bench client`.
extension LoadOptions.Scenario: ExpressibleByArgument {}
