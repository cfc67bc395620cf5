package dev.lorafleet.worker.data;

import dev.lorafleet.worker.data.jinja.Template;
import dev.lorafleet.worker.data.jinja.TemplateException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own Jinja chat template, rendered with the variables transformers' {@code
 * apply_chat_template} passes: {@code messages}, {@code add_generation_prompt}, {@code tools} and
 * {@code documents} (both None), the special tokens named in {@code tokenizer_config.json} ({@code
 * bos_token}, {@code eos_token}, {@code pad_token}), and any extra keyword arguments (such as
 * Qwen3's {@code enable_thinking}).
 */
public final class JinjaChatTemplate implements ChatTemplate {
  private final Template template;
  private final Map<String, Object> baseVariables;

  private JinjaChatTemplate(Template template, Map<String, Object> baseVariables) {
    this.template = template;
    this.baseVariables = baseVariables;
  }

  /**
   * @param source the template text
   * @param origin where it came from, for the error message
   * @throws DatasetException when the template does not parse
   */
  public static JinjaChatTemplate parse(
      String source, String origin, TokenizerSettings settings, Map<String, ?> extraVariables) {
    Template template;
    try {
      template = Template.parse(source);
    } catch (TemplateException e) {
      throw new DatasetException(origin + ": cannot parse the chat template: " + e.getMessage(), e);
    }
    Map<String, Object> vars = new HashMap<>();
    vars.put("tools", null);
    vars.put("documents", null);
    putIfPresent(vars, "bos_token", settings.bosToken());
    putIfPresent(vars, "eos_token", settings.eosToken());
    putIfPresent(vars, "pad_token", settings.padToken());
    vars.putAll(extraVariables);
    return new JinjaChatTemplate(template, vars);
  }

  private static void putIfPresent(Map<String, Object> vars, String key, String value) {
    if (value != null) {
      vars.put(key, value);
    }
  }

  @Override
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    Map<String, Object> vars = new HashMap<>(baseVariables);
    List<Object> list = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      list.add(m.toTemplateValue());
    }
    vars.put("messages", list);
    vars.put("add_generation_prompt", addGenerationPrompt);
    try {
      return template.render(vars);
    } catch (TemplateException.Raised e) {
      throw new TemplateRenderException(e.raisedMessage(), e);
    } catch (TemplateException e) {
      throw new TemplateRenderException("the chat template failed at " + e.getMessage(), e);
    }
  }
}
