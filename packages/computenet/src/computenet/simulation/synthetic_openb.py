"""A SYNTHETIC cluster and pod list in the Alibaba GPU-sharing trace format ("openb").

For running the packing experiment where the real trace files are not at hand: node
shapes and pod shapes follow the kinds seen in the public openb files (2- to 8-GPU nodes
of several models, many pods sharing a GPU, CPU-only pods, 8-GPU gangs), but every row
is generated here — results on it are not results on the real trace, and the reports
say so. The output is CSV text in the real format, read back by the real readers.
"""

import numpy as np

# (model, GPUs, cpu_milli, memory_mib, share of nodes)
_NODE_KINDS: tuple[tuple[str, int, int, int, float], ...] = (
    ("G2", 8, 96_000, 393_216, 0.55),
    ("T4", 2, 104_000, 524_288, 0.18),
    ("P100", 2, 64_000, 262_144, 0.09),
    ("G3", 8, 128_000, 786_432, 0.06),
    ("V100M32", 8, 96_000, 786_432, 0.04),
    ("V100M16", 4, 32_000, 131_072, 0.04),
    ("T4", 4, 96_000, 393_216, 0.04),
)
# fractional GPU shares seen in GPU-sharing inference pods (thousandths of one GPU)
_SHARES = (50, 110, 160, 220, 230, 270, 320, 440, 460, 470, 480, 550, 590, 650, 810)
_HEADER_PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"


def synthetic_openb(nodes: int = 1200, pods: int = 8000, seed: int = 0) -> tuple[str, str]:
    """(node list CSV, pod list CSV), both synthetic, in the openb format."""
    rng = np.random.default_rng(seed)
    weights = np.array([k[4] for k in _NODE_KINDS])
    kinds = rng.choice(len(_NODE_KINDS), size=nodes, p=weights / weights.sum())
    node_rows = ["sn,cpu_milli,memory_mib,gpu,model"]
    for i, k in enumerate(kinds):
        model, gpus, cpu, mem, _ = _NODE_KINDS[int(k)]
        node_rows.append(f"synth-node-{i:04d},{cpu},{mem},{gpus},{model}")
    pod_rows = [_HEADER_PODS]
    t = 0
    for i in range(pods):
        t += int(rng.exponential(60.0)) + 1
        r = rng.random()
        spec = ""
        if r < 0.10:  # CPU-only
            gpus, share, cpu = 0, 0, int(rng.choice((4, 8, 16, 32))) * 1000
        elif r < 0.45:  # one shared GPU
            gpus, share, cpu = 1, int(rng.choice(_SHARES)), int(rng.choice((2, 4, 6, 8))) * 1000
        elif r < 0.95:  # one whole GPU
            gpus, share, cpu = 1, 1000, int(rng.choice((4, 8, 12, 16))) * 1000
        elif r < 0.98:
            gpus, share, cpu = int(rng.choice((2, 4))), 1000, int(rng.choice((16, 32))) * 1000
        else:
            gpus, share, cpu = 8, 1000, 88_000
        if gpus and rng.random() < 0.05:
            spec = "V100M16|V100M32"
        mem = cpu * int(rng.choice((2, 4)))
        qos = "BE" if rng.random() < 0.3 else "LS"
        end = t + int(rng.exponential(3600.0)) + 1
        pod_rows.append(
            f"synth-pod-{i:05d},{cpu},{mem},{gpus},{share},{spec},{qos},Running,{t},{end},{t}"
        )
    return "\n".join(node_rows) + "\n", "\n".join(pod_rows) + "\n"
