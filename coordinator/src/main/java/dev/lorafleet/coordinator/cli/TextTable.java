package dev.lorafleet.coordinator.cli;

import java.util.ArrayList;
import java.util.List;

/** A plain-text table: a header row and rows, columns padded to their widest cell. */
final class TextTable {
  private final List<String> header;
  private final boolean[] rightAligned;
  private final List<List<String>> rows = new ArrayList<>();

  /** Columns whose header starts with '>' are right-aligned (the '>' is not shown). */
  TextTable(List<String> header) {
    this.header = new ArrayList<>();
    this.rightAligned = new boolean[header.size()];
    for (int i = 0; i < header.size(); i++) {
      String title = header.get(i);
      rightAligned[i] = title.startsWith(">");
      this.header.add(rightAligned[i] ? title.substring(1) : title);
    }
  }

  TextTable row(List<String> cells) {
    if (cells.size() != header.size()) {
      throw new IllegalArgumentException(
          "row has " + cells.size() + " cells, the table " + header.size() + " columns");
    }
    rows.add(List.copyOf(cells));
    return this;
  }

  String render() {
    int[] widths = new int[header.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = header.get(i).length();
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, header, widths);
    for (List<String> row : rows) {
      line(out, row, widths);
    }
    return out.toString();
  }

  private void line(StringBuilder out, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) {
        line.append("  ");
      }
      String cell = cells.get(i);
      String pad = " ".repeat(widths[i] - cell.length());
      line.append(rightAligned[i] ? pad + cell : cell + pad);
    }
    out.append(line.toString().stripTrailing()).append(System.lineSeparator());
  }
}
