"""The ``cv-analytics`` command and the local pipeline: the layer that wires the shared
package and the three services together. Nothing in ``cv_analytics`` imports it."""
