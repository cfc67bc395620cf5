"""A numpy transcription of Hugging Face transformers' Llama-family forward pass.

It follows transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 / modeling_mistral
(eager attention) operation by operation, in float64, so that it is an exact reference for
lorafleet's DJL model. Used only to generate golden fixtures; tests never run Python.
"""
import json
import math
import struct

import numpy as np


# ---------------------------------------------------------------- safetensors
_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}


def bf16_round(a):
    """float32 -> bfloat16 -> float32, round to nearest even (as torch does)."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    return ((bits + rounding) >> 16 << 16).astype(np.uint32).view(np.float32)


def write_safetensors(path, tensors):
    """tensors: name -> (dtype name, np array). Same layout rules as lorafleet's writer."""
    size = {"F64": 8, "I64": 8, "F32": 4, "F16": 2, "BF16": 2}
    order = sorted(tensors, key=lambda n: (-size[tensors[n][0]], n))
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in order:
        dtype, arr = tensors[name]
        if dtype == "BF16":
            data = (bf16_round(arr).view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            data = np.ascontiguousarray(arr, dtype=_DTYPES[dtype]).astype(
                np.dtype(_DTYPES[dtype]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- model
def rms_norm(x, w, eps):
    # LlamaRMSNorm: hidden.to(float32); var = mean(h^2); h * rsqrt(var + eps); weight * h
    var = np.mean(x * x, axis=-1, keepdims=True)
    return w * (x / np.sqrt(var + eps))


def inv_freq(cfg):
    hd = cfg["head_dim"]
    base = cfg["rope_theta"]
    inv = 1.0 / (base ** (np.arange(0, hd, 2, dtype=np.int64).astype(np.float32) / hd))
    inv = inv.astype(np.float32).astype(np.float64)
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor = rs["factor"]
        low, high = rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = np.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv = np.where(medium, smoothed, inv_l)
    return inv


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def forward(cfg, W, ids):
    """Logits [T, V] for one unpadded sequence of token ids."""
    arch = cfg["architectures"][0]
    T = len(ids)
    H = cfg["hidden_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    qkv_bias = arch == "Qwen2ForCausalLM" or cfg.get("attention_bias", False)
    o_bias = arch != "Qwen2ForCausalLM" and cfg.get("attention_bias", False)
    if arch == "MistralForCausalLM":
        qkv_bias = o_bias = False

    freqs = np.outer(np.arange(T, dtype=np.float64), inv_freq(cfg))
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)

    h = W["model.embed_tokens.weight"][np.asarray(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: W.get(p + n)
        x = rms_norm(h, g("input_layernorm.weight"), eps)
        q = linear(x, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias") if qkv_bias else None)
        k = linear(x, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias") if qkv_bias else None)
        v = linear(x, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias") if qkv_bias else None)
        q = q.reshape(T, nh, hd)
        k = k.reshape(T, nkv, hd)
        v = v.reshape(T, nkv, hd)
        if arch == "Qwen3ForCausalLM":
            q = rms_norm(q, g("self_attn.q_norm.weight"), eps)
            k = rms_norm(k, g("self_attn.k_norm.weight"), eps)
        q, k, v = q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv  # repeat_kv: head j uses kv head j // rep
        k = np.repeat(k, rep, axis=0)
        v = np.repeat(v, rep, axis=0)
        scores = q @ k.transpose(0, 2, 1) * hd ** -0.5
        causal = np.triu(np.ones((T, T), dtype=bool), 1)
        scores = np.where(causal, -np.inf, scores)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(T, nh * hd)
        h = h + linear(ctx, g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias") if o_bias else None)
        x = rms_norm(h, g("post_attention_layernorm.weight"), eps)
        gate = linear(x, g("mlp.gate_proj.weight"))
        up = linear(x, g("mlp.up_proj.weight"))
        act = gate / (1 + np.exp(-gate)) * up
        h = h + linear(act, g("mlp.down_proj.weight"))
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T
