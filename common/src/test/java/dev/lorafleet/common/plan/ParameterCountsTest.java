package dev.lorafleet.common.plan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import org.junit.jupiter.api.Test;

/**
 * Parameter counts against PEFT's {@code print_trainable_parameters()} on published configs. Each
 * expected number is worked out by hand in the comment above it (h hidden, i intermediate, L
 * layers, V vocab, kv = kvHeads·headDim): base = V·h (embeddings) + L·(per layer) + h (final norm)
 * + V·h (lm_head, unless tied); trainable = L · Σ r·(in + out) over the targeted projections.
 */
class ParameterCountsTest {

  private static ParameterCounts counts(String model, LoraConfig lora) {
    return ParameterCounts.of(PlanModels.load(model), lora);
  }

  @Test
  void countsLlama2SevenBExactlyAsPeftPrintsIt() {
    // per layer: q,k,v,o 4·4096² = 67,108,864; mlp 3·4096·11008 = 135,266,304; norms 8,192
    //   = 202,383,360; ×32 = 6,476,267,520; + 2·32000·4096 = 262,144,000 + 4,096
    //   = 6,738,415,616 base. LoRA r=8 q,v: 32 · 8·(8192 + 8192) = 4,194,304.
    ParameterCounts c = counts("Llama-2-7b-hf", LoraConfig.of(8, 16, 0.05, "q_proj", "v_proj"));
    assertThat(c.baseParams()).isEqualTo(6_738_415_616L);
    assertThat(c.trainableParams()).isEqualTo(4_194_304L);
    assertThat(c.totalParams()).isEqualTo(6_742_609_920L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622");
  }

  @Test
  void countsLlama3EightBWithGqaOnAllLinear() {
    // kv = 8·128 = 1024. per layer: q,o 2·4096² = 33,554,432; k,v 2·4096·1024 = 8,388,608;
    //   mlp 3·4096·14336 = 176,160,768; norms 8,192 = 218,112,000; ×32 = 6,979,584,000;
    //   + 2·128256·4096 = 1,050,673,152 + 4,096 = 8,030,261,248.
    // r=16 all-linear per layer: q,o 2·16·8192 = 262,144; k,v 2·16·5120 = 163,840;
    //   gate,up,down 3·16·18432 = 884,736 → 1,310,720; ×32 = 41,943,040.
    ParameterCounts c = counts("Meta-Llama-3-8B", LoraConfig.of(16, 32, 0.05, "all-linear"));
    assertThat(c.baseParams()).isEqualTo(8_030_261_248L);
    assertThat(c.trainableParams()).isEqualTo(41_943_040L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 41,943,040 || all params: 8,072,204,288 || trainable%: 0.5196");
  }

  @Test
  void countsQwen25SevenBWithQkvBiasAndUntiedHead() {
    // kv = 4·128 = 512. per layer: q 3584² + 3584 bias = 12,848,640; k,v 2·(3584·512 + 512)
    //   = 3,671,040; o 3584² = 12,845,056 (no bias); mlp 3·3584·18944 = 203,685,888;
    //   norms 7,168 = 233,057,792; ×28 = 6,525,618,176; + 2·152064·3584 = 1,089,994,752
    //   + 3,584 = 7,615,616,512.
    // r=8 q,v: 28 · (8·(3584+3584) + 8·(3584+512)) = 28 · (57,344 + 32,768) = 2,523,136.
    ParameterCounts c = counts("Qwen2.5-7B", LoraConfig.of(8, 16, 0.0, "q_proj", "v_proj"));
    assertThat(c.baseParams()).isEqualTo(7_615_616_512L);
    assertThat(c.trainableParams()).isEqualTo(2_523_136L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 2,523,136 || all params: 7,618,139,648 || trainable%: 0.0331");
  }

  @Test
  void countsQwen3EightBWithQkNormAndHeadDim() {
    // head_dim 128, 32 heads, 8 kv heads: q,o 4096·4096 each; k,v 4096·1024 each.
    // per layer: 2·16,777,216 + 2·4,194,304 + mlp 3·4096·12288 = 150,994,944 + norms 8,192
    //   + q_norm, k_norm 2·128 = 256 → 192,946,432; ×36 = 6,946,071,552;
    //   + 2·151936·4096 = 1,244,659,712 + 4,096 = 8,190,735,360.
    // r=16 q,k,v,o: 36 · (2·16·8192 + 2·16·5120) = 36 · 425,984 = 15,335,424.
    ParameterCounts c =
        counts("Qwen3-8B", LoraConfig.of(16, 32, 0.05, "q_proj", "k_proj", "v_proj", "o_proj"));
    assertThat(c.baseParams()).isEqualTo(8_190_735_360L);
    assertThat(c.trainableParams()).isEqualTo(15_335_424L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 15,335,424 || all params: 8,206,070,784 || trainable%: 0.1869");
  }

  @Test
  void countsMistralSevenB() {
    // per layer: q,o 2·4096² + k,v 2·4096·1024 + mlp 3·4096·14336 + norms 8,192 = 218,112,000;
    //   ×32 = 6,979,584,000 + 2·32000·4096 = 262,144,000 + 4,096 = 7,241,732,096.
    // r=16 q,v: 32 · (16·8192 + 16·5120) = 32 · 212,992 = 6,815,744.
    ParameterCounts c = counts("Mistral-7B-v0.1", LoraConfig.of(16, 32, 0.05, "q_proj", "v_proj"));
    assertThat(c.baseParams()).isEqualTo(7_241_732_096L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 6,815,744 || all params: 7,248,547,840 || trainable%: 0.0940");
  }

  @Test
  void countsTiedEmbeddingsOnceForQwen25HalfB() {
    // kv = 2·64 = 128. per layer: q 896²+896 = 803,712; k,v 2·(896·128+128) = 229,632;
    //   o 896² = 802,816; mlp 3·896·4864 = 13,074,432; norms 1,792 → 14,912,384; ×24
    //   = 357,897,216; + 151936·896 = 136,134,656 once (tied) + 896 = 494,032,768.
    // r=8 all-linear per layer: q,o 2·8·1792 = 28,672; k,v 2·8·1024 = 16,384;
    //   gate,up,down 3·8·5760 = 138,240 → 183,296; ×24 = 4,399,104.
    ModelConfig model = PlanModels.load("Qwen2.5-0.5B-Instruct");
    ParameterCounts c = ParameterCounts.of(model, LoraConfig.of(8, 16, 0.05, "all-linear"));
    assertThat(model.tieWordEmbeddings()).isTrue();
    assertThat(c.baseParams()).isEqualTo(494_032_768L);
    assertThat(c.peftLine())
        .isEqualTo("trainable params: 4,399,104 || all params: 498,431,872 || trainable%: 0.8826");
  }

  @Test
  void countsTiedEmbeddingsOnceForLlama32OneB() {
    // head_dim 64, kv = 8·64 = 512. per layer: q,o 2·2048² = 8,388,608; k,v 2·2048·512
    //   = 2,097,152; mlp 3·2048·8192 = 50,331,648; norms 4,096 → 60,821,504; ×16
    //   = 973,144,064; + 128256·2048 = 262,668,288 once + 2,048 = 1,235,814,400.
    // r=16 q,v: 16 · (16·4096 + 16·2560) = 16 · 106,496 = 1,703,936.
    ParameterCounts c = counts("Llama-3.2-1B", LoraConfig.of(16, 32, 0.05, "q_proj", "v_proj"));
    assertThat(c.baseParams()).isEqualTo(1_235_814_400L);
    assertThat(c.peftLine())
        .isEqualTo(
            "trainable params: 1,703,936 || all params: 1,237,518,336 || trainable%: 0.1377");
  }

  @Test
  void countsTheLargeModelsOfTheMemoryComparison() {
    // Qwen2.5-14B: per layer q 5120²+5120 = 26,219,520; k,v 2·(5120·1024+1024) = 10,487,808;
    //   o 26,214,400; mlp 3·5120·13824 = 212,336,640; norms 10,240 → 275,268,608; ×48
    //   = 13,212,893,184 + 2·152064·5120 = 1,557,135,360 + 5,120 = 14,770,033,664.
    assertThat(PlanModels.load("Qwen2.5-14B").parameterCount()).isEqualTo(14_770_033_664L);
    // Llama-2-70B: per layer q,o 2·8192² = 134,217,728; k,v 2·8192·1024 = 16,777,216;
    //   mlp 3·8192·28672 = 704,643,072; norms 16,384 → 855,654,400; ×80 = 68,452,352,000
    //   + 2·32000·8192 = 524,288,000 + 8,192 = 68,976,648,192.
    assertThat(PlanModels.load("Llama-2-70b-hf").parameterCount()).isEqualTo(68_976_648_192L);
  }
}
