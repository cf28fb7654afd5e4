(call method: (identifier) @ref)
(constant) @ref
