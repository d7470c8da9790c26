// ModelState: a model's named tensors as one flat float32 vector, the unit that federation moves around.

/// One named tensor's place in a flat state vector.
public struct TensorLayout: Sendable, Hashable, Codable {
    public var name: String
    public var shape: [Int]
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// A model's state: tensors laid end to end in `layout` order, all float32.
public struct ModelState: Sendable, Equatable {
    public var layout: [TensorLayout]
    public var values: [Float]
    /// Free-form string metadata kept with the state (job, round, architecture).
    public var metadata: [String: String]

    public init(layout: [TensorLayout], values: [Float], metadata: [String: String] = [:]) throws {
        let expected = layout.reduce(0) { $0 + $1.count }
        guard expected == values.count else {
            throw FedCTError(.integrity, "model state has \(values.count) values but its layout describes \(expected)")
        }
        self.layout = layout
        self.values = values
        self.metadata = metadata
    }
}
