"""Memory: parameter bytes by dtype, activation bytes, peak live memory, saved-for-backward.

Every graph is built by hand; 1-D float32 tensors make bytes = 4 * elements, and each
peak is worked out node by node in the comments.
"""

from __future__ import annotations

from flopcount.analysis.memory import live_bytes_per_node, memory_report
from flopcount.ir import Graph, Node, TensorSpec


def act(name: str, elements: int, kind: str = "activation", dtype: str = "float32") -> TensorSpec:
    return TensorSpec((elements,), dtype, name, kind)  # type: ignore[arg-type]


def node(
    op: str, inputs: list[TensorSpec], outputs: list[TensorSpec], phase: str = "forward"
) -> Node:
    return Node(op, tuple(inputs), tuple(outputs), phase=phase)  # type: ignore[arg-type]


W = act("W", 50, "parameter")  # 200 bytes
SCALE = act("scale", 25, "parameter", dtype="bfloat16")  # 50 bytes
TABLE = act("table", 10, "constant")  # 40 bytes


def chain() -> Graph:
    """x(100) -A-> a(200) -B-> b(50) -C-> y(10); A also reads W and a constant."""
    x, a, b, y = act("x", 100, "input"), act("a", 200), act("b", 50), act("y", 10)
    nodes = [node("A", [x, W, TABLE], [a]), node("B", [a, SCALE], [b]), node("C", [b], [y])]
    params = {"W": W, "scale": SCALE}
    return Graph(nodes=nodes, inputs=[x], outputs=[y], parameters=params)


def test_chain_peak_and_totals() -> None:
    report = memory_report(chain())
    # node 0 (A): x 400 + a 800 = 1200   (x dies after A, its last consumer)
    # node 1 (B): a 800 + b 200 = 1000
    # node 2 (C): b 200 + y 40  = 240
    assert report.live_bytes == (1200, 1000, 240)
    assert report.peak_activation_bytes == 400 + 800
    assert report.peak_at_node == 0
    assert report.activation_bytes == 800 + 200 + 40  # a + b + y
    assert report.input_bytes == 400
    assert report.param_bytes_by_dtype == {"bfloat16": 25 * 2, "float32": 50 * 4}
    assert report.param_bytes == 250
    assert report.constant_bytes == 40  # reported apart, never live
    assert report.training is False and report.saved_for_backward_bytes == 0


def test_diamond_keeps_both_branches_live() -> None:
    x, p, q, y = act("x", 100, "input"), act("p", 300), act("q", 200), act("y", 10)
    graph = Graph(
        nodes=[node("A", [x], [p]), node("B", [x], [q]), node("C", [p, q], [y])],
        inputs=[x],
        outputs=[y],
    )
    # node 0 (A): x 400 + p 1200          = 1600
    # node 1 (B): x 400 + p 1200 + q 800  = 2400  <- peak: p waits for C while B runs
    # node 2 (C): p 1200 + q 800 + y 40   = 2040  (x died after B)
    assert live_bytes_per_node(graph) == (1600, 2400, 2040)
    report = memory_report(graph)
    assert report.peak_activation_bytes == 400 + 1200 + 800
    assert report.peak_at_node == 1


def test_residual_input_lives_until_the_add() -> None:
    x, h1, h2, y = act("x", 100, "input"), act("h1", 100), act("h2", 100), act("y", 100)
    graph = Graph(
        nodes=[node("Conv", [x, W], [h1]), node("Relu", [h1], [h2]), node("Add", [h2, x], [y])],
        inputs=[x],
        outputs=[y],
    )
    # node 0: x + h1 = 800; node 1: x + h1 + h2 = 1200; node 2: x + h2 + y = 1200.
    # Without the skip connection x would die at node 0 and the peak would be 800.
    assert live_bytes_per_node(graph) == (800, 1200, 1200)
    assert memory_report(graph).peak_at_node == 1  # first node reaching the peak


def test_graph_outputs_stay_live_to_the_end() -> None:
    x, early, late = act("x", 10, "input"), act("early", 100), act("late", 10)
    graph = Graph(
        nodes=[node("A", [x], [early]), node("B", [x], [late])],
        inputs=[x],
        outputs=[early, late],
    )
    # early is an output: live at node 1 although nothing reads it there.
    # node 0: x 40 + early 400 = 440; node 1: x 40 + early 400 + late 40 = 480.
    assert live_bytes_per_node(graph) == (440, 480)


def test_nameless_tensors_live_only_for_their_node() -> None:
    x = act("x", 10, "input")
    anonymous = TensorSpec((100,), "float32")  # no name: cannot be followed across nodes
    graph = Graph(
        nodes=[node("A", [x], [anonymous]), node("B", [x], [act("y", 10)])],
        inputs=[x],
        outputs=[],
    )
    # node 0: x 40 + nameless 400 = 440; node 1: x 40 + y 40 = 80 (y unused: its node only).
    assert live_bytes_per_node(graph) == (440, 80)


def test_empty_graph() -> None:
    report = memory_report(Graph())
    assert report.peak_activation_bytes == 0 and report.peak_at_node is None


def training_graph() -> Graph:
    """y = sum(relu(x @ W)) forward, then its backward (ReluGrad reads r, dW reads x)."""
    x = TensorSpec((4, 8), "float32", "x", "input")  # 128 bytes
    weight = TensorSpec((8, 16), "float32", "W", "parameter")  # 512 bytes, never live
    h, r = TensorSpec((4, 16), name="h"), TensorSpec((4, 16), name="r")  # 256 bytes each
    loss, dloss = TensorSpec((), name="loss"), TensorSpec((), name="dloss")  # 4 bytes each
    dr, dh = TensorSpec((4, 16), name="dr"), TensorSpec((4, 16), name="dh")  # 256 each
    dw = TensorSpec((8, 16), name="dW")  # 512
    nodes = [
        node("MatMul", [x, weight], [h]),
        node("Relu", [h], [r]),
        node("ReduceSum", [r], [loss]),
        node("Expand", [dloss], [dr], phase="backward"),
        node("ReluGrad", [dr, r], [dh], phase="backward"),
        node("MatMul", [dh, x], [dw], phase="backward"),
    ]
    return Graph(nodes=nodes, inputs=[x], outputs=[loss, dw], parameters={"W": weight})


def test_training_saved_for_backward_and_peak() -> None:
    report = memory_report(training_graph())
    assert report.training is True and report.saved_for_backward_estimated is False
    # Backward reads r (ReluGrad) and x (the dW MatMul); h is not read by backward.
    assert report.saved_for_backward_bytes == 256 + 128
    # Intervals: x [0,5] 128, h [0,1] 256, r [1,4] 256, loss [2,5] 4, dloss [0,3] 4
    # (consumed, never produced: from outside), dr [3,4] 256, dh [4,5] 256, dW [5,5] 512.
    # node 0: 128+256+4 = 388          node 3: 128+256+4+4+256 = 648
    # node 1: 128+256+256+4 = 644      node 4: 128+256+4+256+256 = 900  <- peak
    # node 2: 128+256+4+4 = 392        node 5: 128+4+256+512 = 900
    assert report.live_bytes == (388, 644, 392, 648, 900, 900)
    assert report.peak_activation_bytes == 900 and report.peak_at_node == 4
    assert report.activation_bytes == 256 + 256 + 4  # forward outputs only: h, r, loss


def test_training_flag_without_backward_nodes_estimates() -> None:
    report = memory_report(chain(), training=True)
    # Upper bound: every activation input of a forward node is kept: x 400 + a 800 + b 200.
    assert report.saved_for_backward_bytes == 400 + 800 + 200
    assert report.saved_for_backward_estimated is True


def test_parameters_fall_back_to_node_inputs_counting_names_once() -> None:
    x, y = act("x", 1, "input"), act("y", 1)
    graph = Graph(nodes=[node("A", [x, W], [y]), node("B", [y, W], [act("z", 1)])], inputs=[x])
    # Graph.parameters is empty: W (200 bytes) appears twice but counts once.
    assert memory_report(graph).param_bytes == 200
