/// A valid configuration and the warnings met while reading it.
public struct LoadedConfiguration: Sendable {
    public var configuration: Configuration
    public var warnings: [ConfigIssue]
    /// The decoded objects, as written (for summaries and status reporting).
    public var resources: [ConfigResource]
}

/// Reads configuration sources (YAML or JSON text) or decoded documents, and validates them all at once.
///
/// ```swift
/// let loaded = try ConfigurationLoader().load([ConfigSource(name: "pools.yaml", text: yaml)])
/// ```
public struct ConfigurationLoader: Sendable {
    public var options: ValidationOptions
    public var reader: ConfigDocumentReader

    public init(options: ValidationOptions = ValidationOptions(), reader: ConfigDocumentReader = ConfigDocumentReader()) {
        self.options = options
        self.reader = reader
    }

    /// Parses and validates every source together; one error anywhere rejects the whole configuration.
    public func load(_ sources: [ConfigSource]) throws(ConfigurationError) -> LoadedConfiguration {
        var log = IssueLog()
        var documents: [ConfigNode] = []
        for source in sources {
            switch reader.documents(source) {
            case .success(let docs): documents += docs
            case .failure(let issue): log.issues.append(issue)
            }
        }
        return try load(documents: documents, log: log)
    }

    /// Validates already-parsed documents (for example objects listed from the Kubernetes API).
    public func load(documents: [ConfigNode]) throws(ConfigurationError) -> LoadedConfiguration {
        try load(documents: documents, log: IssueLog())
    }

    /// Decodes documents into resources without validating them; issues found while decoding are returned.
    public func decode(documents: [ConfigNode]) -> (resources: [ConfigResource], issues: [ConfigIssue]) {
        var log = IssueLog()
        var resources: [ConfigResource] = []
        let decoder = ResourceDecoder(options: options)
        for d in documents { decoder.decode(d, log: &log, into: &resources) }
        return (resources, log.issues)
    }

    private func load(documents: [ConfigNode], log initial: IssueLog) throws(ConfigurationError) -> LoadedConfiguration {
        var log = initial
        var resources: [ConfigResource] = []
        let decoder = ResourceDecoder(options: options)
        for d in documents { decoder.decode(d, log: &log, into: &resources) }
        var validator = ConfigurationValidator(options: options, log: log)
        let configuration = validator.validate(resources)
        log = validator.log
        guard let configuration, !log.hasErrors else {
            throw ConfigurationError(errors: log.errors, warnings: log.warnings)
        }
        return LoadedConfiguration(configuration: configuration, warnings: log.warnings, resources: resources)
    }
}
