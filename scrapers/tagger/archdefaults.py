"""Per-`model_type` facts the tagger falls back on when a config leaves a key out.

`ROPE_DEFAULTS` holds the class defaults of the transformers 5.24 configuration classes (what a
missing key means: `theta`, partial rotary fraction `prf`, declared context `mpe`, a class default
that is itself a scaling, or per-layer-type rope parameters) and the head width `hd` of the
default size. The hand-written tables below cover
remote-code architectures and the properties no config states (pairing, non-rotary families).
"""

from __future__ import annotations

from typing import Any

ROPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "EvollaModel": {"hd": 128, "mpe": 8192, "theta": 500000.0},
    "afmoe": {"hd": 128, "mpe": 16384, "theta": 10000.0},
    "apertus": {
        "hd": 128,
        "mpe": 65536,
        "theta": 12000000.0,
        "scaling": {
            "rope_type": "llama3",
            "factor": 8.0,
            "original_max_position_embeddings": 8192,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
        },
    },
    "apertus1p5_text": {
        "hd": 128,
        "mpe": 65536,
        "theta": 12000000.0,
        "scaling": {
            "rope_type": "llama3",
            "factor": 8.0,
            "original_max_position_embeddings": 8192,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
        },
    },
    "arcee": {"hd": 80, "mpe": 4096, "theta": 10000.0},
    "aria_text": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "axk1": {"hd": 64, "mpe": 32768, "theta": 10000.0},
    "axk2": {"hd": 32, "mpe": 131072, "theta": 10000.0},
    "bailing_hybrid": {"hd": 64, "mpe": 262144, "theta": 6000000.0},
    "bamba": {"hd": 128, "mpe": 262144, "theta": 10000.0, "prf": 0.5},
    "beam": {
        "hd": 128,
        "mpe": 8192,
        "theta": None,
        "extra": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": None,
        },
    },
    "bitnet": {"hd": 128, "mpe": 2048, "theta": 500000.0},
    "blt": {"mpe": 4096, "theta": 500000.0},
    "blt_global_transformer": {"hd": 128, "mpe": 4096, "theta": 500000.0},
    "blt_local_decoder": {"hd": 64, "mpe": 24576, "theta": 500000.0},
    "blt_local_encoder": {"hd": 64, "mpe": 24576, "theta": 500000.0},
    "blt_patcher": {"hd": 64, "mpe": 8192, "theta": 10000.0},
    "chameleon": {"hd": 128, "mpe": 4096, "theta": 10000.0},
    "cohere": {"hd": 128, "mpe": 8192, "theta": 500000.0},
    "cohere2": {"hd": 128, "mpe": 8192, "theta": 10000.0},
    "cohere2_moe": {"hd": 128, "mpe": 8192, "theta": 10000.0},
    "cosmos3_edge_text": {
        "hd": 128,
        "mpe": 131072,
        "theta": 100000000.0,
        "extra": {"mrope_section": [24, 20, 20]},
    },
    "csm": {"hd": 64, "mpe": 2048, "theta": 500000.0},
    "csm_depth_decoder_model": {"hd": 128, "mpe": 33, "theta": 500000.0},
    "cwm": {
        "hd": 128,
        "mpe": 131072,
        "theta": 1000000.0,
        "scaling": {
            "factor": 16.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
    },
    "dbrx": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "deepseek_ocr2_encoder": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "deepseek_ocr2_text": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "deepseek_v2": {"hd": 64, "mpe": 2048, "theta": 10000.0},
    "deepseek_v3": {"hd": 64, "mpe": 4096, "theta": 10000.0},
    "deepseek_v32": {"hd": 64, "mpe": 163840, "theta": 10000.0},
    "deepseek_v4": {
        "hd": 512,
        "mpe": 1048576,
        "layers": {
            "main": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.125},
            "compress": {
                "rope_theta": 160000.0,
                "rope_type": "default",
                "partial_rotary_factor": 0.125,
            },
        },
    },
    "dia_decoder": {"hd": 128, "mpe": 3072, "theta": 10000.0},
    "dia_encoder": {"hd": 128, "mpe": 1024, "theta": 10000.0},
    "diffllama": {"hd": 64, "mpe": 2048, "theta": 10000.0},
    "diffusion_gemma_text": {
        "hd": 288,
        "mpe": 131072,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {
                "rope_type": "proportional",
                "partial_rotary_factor": 0.25,
                "rope_theta": 1000000.0,
                # full-attention layers are wider: head_dim = global_head_dim (class default 512)
                "head_dim_key": "global_head_dim",
                "head_dim_default": 512,
            },
        },
    },
    "doge": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "dory": {
        "hd": 256,
        "mpe": 8192,
        "layers": {
            "full_attention": {"rope_type": "default", "rope_theta": 10000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
        },
    },
    "dots1": {"hd": 144, "mpe": 2048, "theta": 10000.0},
    "dots3_note_audio_encoder": {"hd": 64, "mpe": 6000, "theta": 10000.0, "prf": 0.5},
    "dots3_note_text": {
        "hd": 256,
        "mpe": 524288,
        "layers": {
            "sliding_attention": {
                "rope_type": "default",
                "rope_theta": 50000.0,
                "partial_rotary_factor": 0.25,
            },
            "indexed_attention": {
                "rope_type": "default",
                "rope_theta": 80000000.0,
                "partial_rotary_factor": 0.25,
            },
        },
    },
    "efficientloftr": {"hd": 32, "theta": 10000.0, "prf": 4.0},
    "embedding_gemma2_text": {
        "hd": 128,
        "mpe": 262144,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
    },
    "emu3_text_model": {"hd": 128, "mpe": 9216, "theta": 1000000.0},
    "eomt_dinov3": {"hd": 64, "theta": 100.0},
    "ernie4_5": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "ernie4_5_moe": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "ernie4_5_vl_moe_text": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "esmc": {"hd": 64, "mpe": 2048, "theta": 10000.0},
    "eurobert": {"hd": 64, "mpe": 8192, "theta": 10000.0},
    "evolla": {"hd": 128, "mpe": 8192, "theta": 500000.0},
    "exaone": {"hd": 128, "mpe": 4096, "theta": 500000.0},
    "exaone4": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "exaone_moe": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "falcon": {"hd": 64, "mpe": 2048, "theta": 10000.0},
    "falcon_h1": {"hd": 128, "mpe": 8192, "theta": 10000.0},
    "flex_olmo": {"hd": 128, "mpe": 4096, "theta": 500000.0},
    "flint": {"hd": 128, "mpe": 262144, "theta": 10000.0},
    "gemma": {"hd": 256, "mpe": 8192, "theta": 10000.0},
    "gemma2": {"hd": 256, "mpe": 8192, "theta": 10000.0},
    "gemma3_text": {
        "hd": 256,
        "mpe": 131072,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
    },
    "gemma3n_text": {
        "hd": 256,
        "mpe": 32768,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
    },
    "gemma4_text": {
        "hd": 288,
        "mpe": 131072,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {
                "rope_type": "proportional",
                "partial_rotary_factor": 0.25,
                "rope_theta": 1000000.0,
                # full-attention layers are wider: head_dim = global_head_dim (class default 512)
                "head_dim_key": "global_head_dim",
                "head_dim_default": 512,
            },
        },
    },
    "gemma4_unified_text": {
        "hd": 288,
        "mpe": 262144,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {
                "rope_type": "proportional",
                "partial_rotary_factor": 0.25,
                "rope_theta": 1000000.0,
                # full-attention layers are wider: head_dim = global_head_dim (class default 512)
                "head_dim_key": "global_head_dim",
                "head_dim_default": 512,
            },
        },
    },
    "glm": {"hd": 128, "mpe": 131072, "theta": 10000.0, "prf": 0.5},
    "glm4": {"hd": 128, "mpe": 131072, "theta": 10000.0, "prf": 0.5},
    "glm4_moe": {"mpe": 131072, "theta": 10000.0, "prf": 0.5},
    "glm4_moe_lite": {"hd": 64, "mpe": 202752, "theta": 10000.0},
    "glm4v_moe_text": {"mpe": 65536, "theta": 10000.0, "prf": 0.5},
    "glm4v_text": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "glm_image_text": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "glm_moe_dsa": {"hd": 64, "mpe": 202752, "theta": 10000.0},
    "glm_ocr_text": {"hd": 64, "mpe": 131072, "theta": 10000.0},
    "glmasr_encoder": {"hd": 64, "mpe": 1500, "theta": 10000.0, "prf": 0.5},
    "gpt_neox": {"hd": 96, "mpe": 2048, "theta": 10000.0, "prf": 0.25},
    "gpt_neox_japanese": {"hd": 80, "mpe": 2048, "theta": 10000.0},
    "gpt_oss": {
        "hd": 64,
        "mpe": 131072,
        "theta": 150000.0,
        "scaling": {
            "rope_type": "yarn",
            "factor": 32.0,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "truncate": False,
            "original_max_position_embeddings": 4096,
        },
    },
    "gradium_phonon_tts": {"hd": 64, "mpe": 8192, "theta": 10000.0},
    "granite": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "granite4_vision_text": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "granite_docling_text": {"hd": 64, "mpe": 32768, "theta": 10000.0},
    "granite_swa": {"hd": 128, "mpe": 8192, "theta": 10000.0},
    "granitemoe": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "granitemoe_swa": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "granitemoehybrid": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "granitemoeshared": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "gte": {"hd": 64, "mpe": 8192, "theta": 160000.0},
    "helium": {"hd": 128, "mpe": 4096, "theta": 100000.0},
    "higgs_audio_v2": {
        "hd": 128,
        "mpe": 2048,
        "theta": 500000.0,
        "scaling": {
            "factor": 32.0,
            "high_freq_factor": 0.5,
            "low_freq_factor": 0.125,
            "original_max_position_embeddings": 1024,
            "rope_type": "llama3",
        },
    },
    "hrm_text": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "hunyuan_v1_dense": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "hunyuan_v1_moe": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "hunyuan_vl_text": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "hy_v3": {"hd": 128, "mpe": 131072, "theta": 11158840.0},
    "hy_v4": {"hd": 64, "mpe": 262144, "theta": 10000.0},
    "hy_v4_vl_text": {
        "hd": 64,
        "mpe": 262144,
        "theta": 10000.0,
        "extra": {"mrope_section": [12, 10, 10]},
    },
    "hyperclovax": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "idefics": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "internlm3": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "iquestcoder": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "jais2": {"hd": 128, "mpe": 8192, "theta": 10000.0},
    "jetmoe": {"hd": 128, "mpe": 4096, "theta": 10000.0},
    "jina_embeddings_v3": {"hd": 64, "mpe": 8194, "theta": 20000.0},
    "kolibri1": {"hd": 128, "mpe": 262144, "theta": 10000.0},
    "kyutai_speech_to_text": {"hd": 64, "mpe": 750, "theta": 10000.0},
    "laguna": {
        "hd": 128,
        "mpe": 131072,
        "layers": {
            "full_attention": {
                "rope_type": "default",
                "rope_theta": 500000.0,
                "partial_rotary_factor": 0.5,
            },
            "sliding_attention": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 1.0,
            },
        },
    },
    "lara_mini": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "lasr_encoder": {"hd": 64, "mpe": 10000, "theta": 10000.0},
    "lfm2": {"hd": 80, "mpe": 128000, "theta": 1000000.0},
    "lfm2_moe": {"hd": 64, "mpe": 128000, "theta": 1000000.0},
    "lfm3": {
        "hd": 128,
        "mpe": 128000,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {
                "rope_type": "proportional",
                "rope_theta": 1000000.0,
                "partial_rotary_factor": 0.5,
            },
        },
    },
    "llama": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "llama4_text": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "llama4_vision_model": {"hd": 48, "theta": 10000.0},
    "longcat_flash": {"hd": 64, "mpe": 131072, "theta": 10000000.0},
    "mellum": {
        "hd": 128,
        "mpe": 131072,
        "layers": {
            "full_attention": {"rope_type": "default", "rope_theta": 500000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
        },
    },
    "mimi": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "mimi_decoder": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "mimi_encoder": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "mimo_v2_flash": {
        "hd": 192,
        "mpe": 131072,
        "layers": {
            "full_attention": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "partial_rotary_factor": 0.334,
            },
            "sliding_attention": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 0.334,
            },
        },
    },
    "minicpm3": {"hd": 32, "mpe": 32768, "theta": 10000.0},
    "minimax": {"hd": 128, "mpe": 131072, "theta": 1000000.0},
    "minimax_m2": {"hd": 128, "mpe": 196608, "theta": 5000000.0},
    "minimax_m3_vl_text": {"hd": 128, "mpe": 524288, "theta": 5000000.0},
    "ministral": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "ministral3": {
        "hd": 128,
        "mpe": 262144,
        "theta": 1000000.0,
        "scaling": {
            "factor": 16.0,
            "original_max_position_embeddings": 16384,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "mscale_all_dim": 1.0,
            "mscale": 1.0,
            "llama_4_scaling_beta": 0.1,
            "rope_type": "yarn",
        },
    },
    "mistral": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "mistral4": {
        "hd": 128,
        "mpe": 1048576,
        "theta": 10000.0,
        "prf": 0.5,
        "scaling": {
            "factor": 128.0,
            "original_max_position_embeddings": 8192,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "mscale_all_dim": 1.0,
            "mscale": 1.0,
            "llama_4_scaling_beta": 0.1,
            "rope_type": "yarn",
        },
    },
    "mistral_large4_text": {
        "hd": 64,
        "mpe": 1048576,
        "theta": 10000.0,
        "scaling": {
            "rope_type": "yarn",
            "factor": 2048.0,
            "original_max_position_embeddings": 512,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "attention_factor": 1.0,
        },
    },
    "mixtral": {"hd": 128, "mpe": 131072, "theta": 1000000.0},
    "mllama_text_model": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "modernbert": {
        "hd": 64,
        "mpe": 8192,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 160000.0},
        },
    },
    "modernbert-decoder": {
        "hd": 64,
        "mpe": 8192,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 160000.0},
        },
    },
    "molmo2_text": {"hd": 128, "mpe": 36864, "theta": 10000.0},
    "moonshine": {"hd": 36, "mpe": 512, "theta": 10000.0, "prf": 0.9},
    "moonshine_streaming": {"hd": 40, "mpe": 4096, "theta": 10000.0, "prf": 0.8},
    "moshi": {"hd": 128, "mpe": 3000, "theta": 10000.0},
    "muse_glimmer_assistant": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "muse_glimmer_text": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "muse_spark_text": {"hd": 64, "mpe": 1048576, "theta": 500000.0},
    "musicflamingo": {"hd": 1280, "theta": 1200.0, "prf": 0.2},
    "nanochat": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "nemotron": {"hd": 128, "mpe": 4096, "theta": 10000.0, "prf": 0.5},
    "nemotron3_5_transcribe_asr_audio": {"hd": 128, "mpe": 5000, "theta": 10000.0, "prf": 0.5},
    "nemotron3_5_transcribe_word_timestamp": {"hd": 80, "mpe": 5000, "theta": 10000.0, "prf": 0.5},
    "nemotron3_diarization_audio": {"hd": 64, "mpe": 5000, "theta": 10000.0},
    "neomme": {
        "hd": 64,
        "mpe": 16384,
        "layers": {
            "full_attention": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "partial_rotary_factor": 0.25,
            },
            "sliding_attention": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 1.0,
            },
        },
    },
    "neucodec": {"hd": 64, "mpe": 4096, "theta": 10000.0},
    "nomic_bert": {"hd": 64, "mpe": 2048, "theta": 1000.0},
    "olmo": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "olmo2": {"hd": 128, "mpe": 2048, "theta": 10000.0},
    "olmo3": {
        "hd": 128,
        "mpe": 2048,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 500000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 500000.0},
        },
    },
    "olmo_hybrid": {"hd": 128, "mpe": 65536, "theta": 10000.0},
    "olmoe": {"hd": 128, "mpe": 4096, "theta": 10000.0},
    "openai_privacy_filter": {
        "hd": 64,
        "mpe": 131072,
        "theta": 150000.0,
        "scaling": {
            "rope_type": "yarn",
            "factor": 32.0,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "truncate": False,
            "original_max_position_embeddings": 4096,
        },
    },
    "paddleocr_vl_text": {"hd": 128, "mpe": 131072, "theta": 500000.0},
    "pe_audio_encoder": {"hd": 128, "mpe": 10000, "theta": 20000},
    "pe_audio_video_encoder": {"hd": 128, "mpe": 10000, "theta": 20000},
    "pe_video_encoder": {"hd": 128, "mpe": 10000, "theta": 20000},
    "persimmon": {"hd": 64, "mpe": 16384, "theta": 10000.0, "prf": 0.5},
    "phi": {"hd": 64, "mpe": 2048, "theta": 10000.0, "prf": 0.5},
    "phi3": {"hd": 96, "mpe": 4096, "theta": 10000.0},
    "phi4_multimodal": {"hd": 96, "mpe": 131072, "theta": 10000.0},
    "phimoe": {"hd": 128, "mpe": 131072, "theta": 1000000.0},
    "pocket_tts": {"hd": 64, "mpe": 8192, "theta": 10000.0},
    "pocket_tts_audio_tokenizer": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "pocket_tts_audio_tokenizer_decoder": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "pocket_tts_audio_tokenizer_encoder": {"hd": 64, "mpe": 8000, "theta": 10000.0},
    "qwen2": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "qwen2_5_omni_dit": {"hd": 64, "mpe": 32768, "theta": 10000.0},
    "qwen2_5_omni_talker": {"hd": 128, "mpe": 32768, "theta": 1000000.0},
    "qwen2_5_omni_text": {"hd": 128, "mpe": 32768, "theta": 1000000.0},
    "qwen2_5_vl_text": {"hd": 128, "mpe": 32768, "theta": 1000000.0},
    "qwen2_moe": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "qwen2_vl_text": {"hd": 128, "mpe": 32768, "theta": 1000000.0},
    "qwen3": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "qwen3_5_moe_text": {"hd": 256, "mpe": 32768, "theta": 10000.0, "prf": 0.25},
    "qwen3_5_text": {"hd": 256, "mpe": 32768, "theta": 10000.0, "prf": 0.25},
    "qwen3_moe": {"hd": 64, "mpe": 32768, "theta": 10000.0},
    "qwen3_next": {"hd": 256, "mpe": 32768, "theta": 10000.0, "prf": 0.25},
    "qwen3_omni_moe_talker_code_predictor": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "qwen3_omni_moe_talker_text": {"hd": 64, "mpe": 32768, "theta": 10000.0},
    "qwen3_omni_moe_text": {"mpe": 32768, "theta": 1000000.0},
    "qwen3_vl_moe_text": {"hd": 128, "mpe": 128000, "theta": 500000.0},
    "qwen3_vl_text": {"hd": 128, "mpe": 128000, "theta": 500000.0},
    "qwen4_exp_text": {"hd": 256, "mpe": 32768, "theta": 10000.0},
    "recurrent_gemma": {"hd": 256, "theta": 10000.0, "prf": 0.5},
    "sarvam_mla": {"hd": 64, "mpe": 4096, "theta": 10000.0},
    "sarvam_moe": {"hd": 64, "mpe": 131072, "theta": 8000000.0},
    "seed_oss": {"hd": 128, "mpe": 524288, "theta": 10000.0},
    "smollm3": {"hd": 128, "mpe": 32768, "theta": 2000000.0},
    "solar_open": {"hd": 128, "mpe": 131072, "theta": 1000000.0},
    "stablelm": {"hd": 80, "mpe": 4096, "theta": 10000.0, "prf": 0.25},
    "starcoder2": {"hd": 128, "mpe": 4096, "theta": 10000.0},
    "step3p5": {
        "hd": 128,
        "mpe": 128000,
        "layers": {"full_attention": {"rope_type": "default", "rope_theta": 10000.0}},
    },
    "t5_gemma_module": {"hd": 256, "mpe": 8192, "theta": 10000.0},
    "t5gemma2_decoder": {
        "hd": 256,
        "mpe": 131072,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
    },
    "t5gemma2_text": {
        "hd": 256,
        "mpe": 131072,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
        },
    },
    "timesfm2_5": {"hd": 80, "mpe": 16384, "theta": 10000.0},
    "ultrabert": {
        "hd": 128,
        "mpe": 32768,
        "layers": {
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "default", "rope_theta": 2560000.0},
        },
    },
    "unlimited_ocr_text": {"hd": 128, "mpe": 32768, "theta": 10000.0},
    "vaultgemma": {"hd": 256, "mpe": 8192, "theta": 10000.0},
    "voxtral_realtime_encoder": {"hd": 64, "mpe": 1500, "theta": 10000.0},
    "voxtral_realtime_text": {"hd": 128, "mpe": 131072, "theta": 10000.0},
    "xcodec2": {"hd": 64, "mpe": 4096, "theta": 10000.0},
    "youtu": {"hd": 64, "mpe": 131072, "theta": 10000.0},
    "zamba2": {"hd": 160, "mpe": 4096, "theta": 10000.0},
    "zaya": {
        "hd": 128,
        "mpe": 131072,
        "layers": {
            "hybrid": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "partial_rotary_factor": 0.5,
            },
            "hybrid_sliding": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 0.5,
            },
        },
    },
}
WRAPPER_TEXT: dict[str, str] = {
    "aimv2": "aimv2_text_model",
    "align": "align_text_model",
    "altclip": "altclip_text_model",
    "apertus1p5": "apertus1p5_text",
    "aria": "aria_text",
    "audioflamingo3": "qwen2",
    "aya_vision": "cohere2",
    "blip": "blip_text_model",
    "blip-2": "opt",
    "bridgetower": "bridgetower_text_model",
    "chinese_clip": "chinese_clip_text_model",
    "clap": "clap_text_model",
    "clip": "clip_text_model",
    "clipseg": "clipseg_text_model",
    "clvp": "clvp_encoder",
    "cohere2_vision": "cohere2",
    "cohere_compass": "cohere_compass_text",
    "cosmos3_edge": "cosmos3_edge_text",
    "cosmos3_omni": "qwen3_vl_text",
    "deepseek_ocr2": "deepseek_ocr2_text",
    "deepseek_vl": "llama",
    "deepseek_vl_hybrid": "llama",
    "diffusion_gemma": "diffusion_gemma_text",
    "dots3_note": "dots3_note_text",
    "embedding_gemma2": "embedding_gemma2_text",
    "emu3": "emu3_text_model",
    "encoder-decoder": "bert",
    "ernie4_5_vl_moe": "ernie4_5_vl_moe_text",
    "exaone4_5": "exaone4",
    "fast_vlm": "qwen2",
    "flava": "flava_text_model",
    "florence2": "bart",
    "fun_asr_nano": "qwen3",
    "fuyu": "persimmon",
    "gemma3": "gemma3_text",
    "gemma3n": "gemma3n_text",
    "gemma4": "gemma4_text",
    "gemma4_unified": "gemma4_unified_text",
    "gemma4_unified_assistant": "gemma4_unified_text",
    "glm46v": "glm4v_text",
    "glm4v": "glm4v_text",
    "glm4v_moe": "glm4v_moe_text",
    "glm5_next": "glm5_next_text",
    "glm_image": "glm_image_text",
    "glm_ocr": "glm_ocr_text",
    "glmasr": "llama",
    "glmga": "glm4v_text",
    "got_ocr2": "qwen2",
    "granite4_vision": "granite4_vision_text",
    "granite_docling": "granite_docling_text",
    "granite_speech": "granite",
    "granite_speech_plus": "granite",
    "grounding-dino": "bert",
    "groupvit": "groupvit_text_model",
    "hunyuan_vl": "hunyuan_vl_text",
    "hy_v4_vl": "hy_v4_vl_text",
    "hyperclovax_vision_v2": "hyperclovax",
    "idefics2": "mistral",
    "idefics3": "llama",
    "inkling2": "inkling2_text",
    "inkling2_loop": "inkling2_loop_text",
    "inkling_mm_model": "inkling_text",
    "instructblip": "opt",
    "instructblipvideo": "opt",
    "internvl": "qwen2",
    "janus": "llama",
    "jev": "qwen3_5_text",
    "kimi_k25": "deepseek_v3",
    "kosmos-2": "kosmos_2_text_model",
    "kosmos-2.5": "kosmos_2_5_text_model",
    "lfm2_vl": "lfm2",
    "lfm3_vl": "lfm3",
    "lighton_ocr": "qwen3",
    "llama4": "llama4_text",
    "llava": "llama",
    "llava_next": "llama",
    "llava_next_video": "llama",
    "llava_onevision": "qwen2",
    "metaclip_2": "metaclip_2_text_model",
    "minicpm_ocr": "qwen3_5_text",
    "minicpmv4_6": "qwen3_5_text",
    "minicpmv4_7": "qwen3_5_text",
    "minimax_m3_vl": "minimax_m3_vl_text",
    "mistral3": "mistral",
    "mistral_large4": "mistral_large4_text",
    "mllama": "mllama_text_model",
    "mm-grounding-dino": "bert",
    "modernvbert": "modernbert",
    "molmo2": "molmo2_text",
    "moss_transcribe_diarize": "qwen3",
    "muse_glimmer": "muse_glimmer_text",
    "muse_spark": "muse_spark_text",
    "musicflamingo": "qwen2",
    "musicgen": "musicgen_decoder",
    "musicgen_melody": "musicgen_melody_decoder",
    "nemo_speechlm": "nemotron_h",
    "nemotron_h_omni": "nemotron_h",
    "omdet-turbo": "clip_text_model",
    "omniasr": "llama",
    "ovis2": "qwen2",
    "owlv2": "owlv2_text_model",
    "owlvit": "owlvit_text_model",
    "paddleocr_vl": "paddleocr_vl_text",
    "paligemma": "gemma",
    "pe_audio": "modernbert",
    "pe_audio_video": "modernbert",
    "pe_video": "modernbert",
    "perception_lm": "llama",
    "pix2struct": "pix2struct_text_model",
    "pp_chart2table": "qwen2",
    "pp_formulanet": "pp_formulanet_text",
    "qianfan_ocr": "qwen3",
    "qwen2_5_omni_thinker": "qwen2_5_omni_text",
    "qwen2_5_vl": "qwen2_5_vl_text",
    "qwen2_audio": "qwen2",
    "qwen2_vl": "qwen2_vl_text",
    "qwen3_5": "qwen3_5_text",
    "qwen3_5_moe": "qwen3_5_moe_text",
    "qwen3_asr": "qwen3",
    "qwen3_omni_moe_thinker": "qwen3_omni_moe_text",
    "qwen3_vl": "qwen3_vl_text",
    "qwen3_vl_moe": "qwen3_vl_moe_text",
    "qwen4_exp": "qwen4_exp_text",
    "sam3": "clip_text_model",
    "sam3_lite_text": "sam3_lite_text_text_model",
    "shieldgemma2": "gemma3_text",
    "siglip": "siglip_text_model",
    "siglip2": "siglip2_text_model",
    "smolvlm": "llama",
    "speech-encoder-decoder": "bert",
    "step3p7": "step3p5",
    "t5gemma": "t5_gemma_module",
    "t5gemma2": "t5gemma2_decoder",
    "t5gemma2_encoder": "t5gemma2_text",
    "tipsv2": "tipsv2_text_model",
    "ultravbert": "ultrabert",
    "unlimited_ocr": "unlimited_ocr_text",
    "vibevoice": "qwen2",
    "vibevoice_asr": "qwen2",
    "video_llama_3": "qwen2",
    "video_llava": "llama",
    "videoprism": "videoprism_text_model",
    "vipllava": "llama",
    "vision-encoder-decoder": "bert",
    "vision-text-dual-encoder": "bert",
    "voxtral": "llama",
    "voxtral_realtime": "voxtral_realtime_text",
    "xclip": "xclip_text_model",
}

# Remote-code and legacy model types that transformers 5.24 does not register, and registered
# rotary types whose base is fixed in the modeling code rather than in the config class.
REMOTE_ROPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "gptj": {"theta": 10000.0},
    "codegen": {"theta": 10000.0},
    "roformer": {"theta": 10000.0},
    "esm": {"theta": 10000.0},
    "wav2vec2-conformer": {"theta": 10000.0},
    "wav2vec2-bert": {"theta": 10000.0},
    "qwen": {"theta": 10000.0},  # Qwen-1: rotary_emb_base, rotary_pct, use_dynamic_ntk
    "chatglm": {"theta": 10000.0, "prf": 0.5},  # ChatGLM2+/GLM-4: theta = 1e4 * rope_ratio
    "internlm": {"theta": 10000.0},
    "internlm2": {"theta": 10000.0},
    "kimi_k2": {"theta": 10000.0},
    "kimi_k3": {"theta": 10000.0},
    "deepseek": {"theta": 10000.0},
    "baichuan": {"theta": 10000.0},
    "RefinedWeb": {"theta": 10000.0},
    "RefinedWebModel": {"theta": 10000.0},
    "mixformer-sequential": {"theta": 10000.0},
    "phi-msft": {"theta": 10000.0},
    "stablelm_epoch": {"theta": 10000.0, "prf": 0.25},
    "minimax_m1": {"theta": 10000.0},
    "nemotron-nas": {"theta": 10000.0},
    "deci": {"theta": 10000.0},
    "mimo": {"theta": 10000.0},
    "llama3v": {"theta": 10000.0},
    "minicpmv": {"theta": 10000.0},
    "minicpm": {"theta": 10000.0},
    "GOT": {"theta": 10000.0},
    "ernie4_5_moe_vl": {"theta": 500000.0},
    "new": {"theta": 10000.0},
    "open-llama": {"theta": 10000.0},
}

# Spellings of a registered model type used by older hub configs.
MODEL_TYPE_ALIASES: dict[str, str] = {
    "Emu3": "emu3",
    "diff_llama": "diffllama",
    "exaone4_5_text": "exaone4",
}

# `architectures[0]` of a sub-config that names no model_type -> the model type it loads as.
ARCHITECTURE_TYPES: dict[str, str] = {
    "DeepseekV2ForCausalLM": "deepseek_v2",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "MistralForCausalLM": "mistral",
    "InternLM2ForCausalLM": "internlm2",
    "Phi3ForCausalLM": "phi3",
}

# mRoPE section sizes the modeling code assumes when the config gives none, and whether the
# sections interleave (Qwen3-VL style) rather than follow each other (Qwen2-VL style).
MROPE_DEFAULTS: dict[str, tuple[tuple[int, ...], bool]] = {
    "qwen2_vl_text": ((16, 24, 24), False),
    "qwen2_5_vl_text": ((16, 24, 24), False),
    "qwen2_5_omni_text": ((16, 24, 24), False),
    "paddleocr_vl_text": ((16, 24, 24), False),
    "qwen3_vl_text": ((24, 20, 20), True),
    "qwen3_vl_moe_text": ((24, 20, 20), True),
    "qwen3_omni_moe_text": ((24, 20, 20), True),
    "qwen4_exp_text": ((24, 20, 20), True),
    "qwen3_5_text": ((11, 11, 10), True),
    "qwen3_5_moe_text": ((11, 11, 10), True),
    "glm4v_text": ((8, 12, 12), False),
    "glm4v_moe_text": ((8, 12, 12), False),
    "glm_ocr_text": ((8, 12, 12), False),
    "glm_image_text": ((8, 12, 12), False),
    "ernie4_5_vl_moe_text": ((22, 22, 20), False),
    "ernie4_5_moe_vl": ((22, 22, 20), False),
}

# Architectures whose implementation rotates adjacent pairs (GPT-J / Meta layout).
INTERLEAVED: frozenset[str] = frozenset(
    {
        "gptj", "codegen", "chatglm", "glm", "glm4", "cohere", "cohere2", "cohere2_moe",
        "ernie4_5", "ernie4_5_moe", "helium", "roformer", "llama4_text", "deepseek_v2",
        "deepseek_v3", "deepseek_v32", "deepseek_v4", "kimi_k2", "kimi_k3", "glm4_moe_lite",
        "glm_moe_dsa", "longcat_flash", "youtu", "axk1", "axk2", "sarvam_mla", "mistral4",
        "mistral_large4_text", "moonshine", "moonshine_streaming", "glm4v_text", "glm_ocr_text",
        "hy_v4_vl_text", "dots3_note_text", "bailing_hybrid", "blt", "blt_global_transformer",
        "blt_patcher", "blt_local_encoder", "blt_local_decoder", "openai_privacy_filter",
        "ernie4_5_vl_moe_text", "ernie4_5_moe_vl",
    }
)  # fmt: skip

# Types that leave the sliding window off unless `use_sliding_window` is true (Qwen2 family):
# a `sliding_window` value next to a missing flag is inert.
WINDOW_NEEDS_FLAG: frozenset[str] = frozenset(
    {
        "qwen2", "qwen2_moe", "qwen2_vl", "qwen2_vl_text", "qwen2_5_vl", "qwen2_5_vl_text",
        "qwen2_5_omni_text", "qwen3", "qwen3_moe", "smollm3", "deepseek_ocr2_text",
    }
)  # fmt: skip

# Multi-head latent attention: only `qk_rope_head_dim` of each q/k head rotates.
MLA: frozenset[str] = frozenset(
    {
        "deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2", "kimi_k3", "glm4_moe_lite",
        "glm_moe_dsa", "longcat_flash", "minicpm3", "youtu", "axk1", "axk2", "sarvam_mla",
        "mistral4", "mistral_large4_text", "hy_v4", "hy_v4_vl_text", "bailing_hybrid",
        "dots3_note_text", "deepseek",
    }
)  # fmt: skip

# Rotary only on sliding-window layers: the full-attention layers have no position encoding.
SLIDING_ONLY_ROPE: frozenset[str] = frozenset(
    {"cohere2", "cohere2_moe", "afmoe", "flint", "kolibri1", "exaone4", "exaone_moe"}
)

# Of those, the ones whose layers all rotate when the config sets no window (null).
WINDOW_GATES_ROPE: frozenset[str] = frozenset({"exaone4", "exaone_moe", "kolibri1"})

# Default spacing of the full-attention layers when the config lists no layer types (the class
# builds every n-th layer as full attention; 4 for the others).
FULL_EVERY: dict[str, int] = {"kolibri1": 5}

# `no_rope_layers` architectures (1 = the layer rotates) and their default NoPE interval.
NOPE_INTERVAL: dict[str, int] = {"llama4_text": 4, "smollm3": 4, "mistral_large4_text": 4}

# Legacy `rope_scaling` goes to the full-attention layers only (both types otherwise).
SCALING_FULL_ONLY: frozenset[str] = frozenset(
    {"gemma3_text", "gemma3n_text", "olmo3", "t5gemma2_text", "t5gemma2_decoder"}
)

# Learned tables with a RoBERTa-style offset: usable context = declared - (pad_token_id + 1).
PADDING_OFFSET: frozenset[str] = frozenset(
    {
        "roberta", "roberta-prelayernorm", "camembert", "xlm-roberta", "xlm-roberta-xl", "xmod",
        "data2vec-text", "longformer", "luke", "jina_embeddings_v3", "markuplm", "lilt",
        "layoutlmv3", "altclip_text_model", "bridgetower_text_model", "clap_text_model", "ibert",
        "mpnet", "prophetnet", "xlm-prophetnet", "esm",
    }
)  # fmt: skip

# Model types with no rotary embedding, by family (the tag is decided by the type alone).
FAMILY: dict[str, str] = {}
_FAMILIES: dict[str, str] = {
    "alibi": "bloom jais",
    "learned-absolute": (
        "gpt2 gpt-sw3 gpt_bigcode gpt_neo opt biogpt openai-gpt imagegpt decision_transformer "
        "bark semantic coarse_acoustics fine_acoustics bert bert-generation albert electra ernie "
        "megatron-bert mobilebert convbert squeezebert rembert roc_bert splinter dpr ibert mra "
        "fnet visual_bert lxmert roberta roberta-prelayernorm camembert xlm-roberta "
        "xlm-roberta-xl xmod data2vec-text big_bird longformer nystromformer yoso canine luke "
        "markuplm tapas layoutlm lilt bros bart mbart plbart mvp blenderbot blenderbot-small "
        "bigbird_pegasus led git florence2 clip_text_model siglip_text_model "
        "siglip2_text_model chinese_clip_text_model altclip_text_model owlv2_text_model "
        "owlvit_text_model blip_text_model xclip_text_model align_text_model flava_text_model "
        "groupvit_text_model clap_text_model bridgetower_text_model vit deit ijepa vilt "
        "gptsan-japanese ernie_m qdqbert realm retribert bort mmbt trocr perceiver "
        "layoutlmv2 layoutlmv3 layoutxlm mpnet prophetnet xlm-prophetnet pvt"
    ),
    "sinusoidal": (
        "marian pegasus pegasus_x fsmt m2m_100 nllb-moe xglm ctrl speech_to_text "
        "speech_to_text_2 musicgen musicgen_melody musicgen_decoder kosmos-2 kosmos-2.5 "
        "kosmos_2_text_model vit_mae videomae autoformer informer time_series_transformer "
        "speecht5 cohere_asr"
    ),
    "relative-bias": (
        "t5 mt5 umt5 switch_transformers pop2piano longt5 udop cpmant pix2struct_text_model "
        "swin swinv2 donut-swin inkling_text inkling2_text beit data2vec-vision"
    ),
    "relative-disentangled": "sew-d",
    "relative-shaw": "wav2vec2-bert seamless_m4t_v2 vits nezha granite_speech_encoder",
    "relative-xl": (
        "xlnet transfo-xl funnel fastspeech2_conformer parakeet_encoder "
        "nemotron_asr_streaming_encoder seamless_m4t"
    ),
    "conv-position": "wav2vec2 hubert unispeech unispeech-sat sew data2vec-audio wavlm",
    "axial-learned": "reformer",
    "none": (
        "mamba mamba2 falcon_mamba rwkv xlstm encodec dac univnet xcodec wavtokenizer "
        "speecht5_hifigan resnet convnext convnextv2 regnet efficientnet mobilenet_v1 "
        "mobilenet_v2 pvt_v2 segformer poolformer"
    ),
    "nope-hybrid": "jamba nemotron_h zamba kimi_linear glm5_next_text",
}
for _tag, _types in _FAMILIES.items():
    for _mt in _types.split():
        FAMILY[_mt] = _tag
del _tag, _types, _mt

# Encoder-decoder types whose two stacks encode position differently: (encoder, decoder).
STACK_TAGS: dict[str, tuple[str, str]] = {
    "whisper": ("sinusoidal", "learned-absolute"),
    "speecht5": ("relative-shaw", "sinusoidal"),
    "seamless_m4t": ("relative-xl", "sinusoidal"),
    "seamless_m4t_v2": ("relative-shaw", "sinusoidal"),
}


def rope_defaults(model_type: str | None) -> dict[str, Any] | None:
    """Class defaults of a rotary model type, or None when the type is not a known rotary one."""
    if model_type is None:
        return None
    return ROPE_DEFAULTS.get(model_type) or REMOTE_ROPE_DEFAULTS.get(model_type)
