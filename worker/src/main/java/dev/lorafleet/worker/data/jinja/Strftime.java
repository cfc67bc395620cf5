package dev.lorafleet.worker.data.jinja;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.time.temporal.ChronoField;
import java.time.temporal.IsoFields;
import java.util.Locale;

/** Python's {@code strftime} (C locale) for the directives chat templates use. */
final class Strftime {
  private Strftime() {}

  static String format(ZonedDateTime t, String fmt) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < fmt.length(); i++) {
      char c = fmt.charAt(i);
      if (c != '%' || i + 1 >= fmt.length()) {
        sb.append(c);
        continue;
      }
      char d = fmt.charAt(++i);
      boolean noPad = false;
      if (d == '-' && i + 1 < fmt.length()) {
        noPad = true;
        d = fmt.charAt(++i);
      }
      switch (d) {
        case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'd' -> pad(sb, t.getDayOfMonth(), 2, noPad);
        case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
        case 'm' -> pad(sb, t.getMonthValue(), 2, noPad);
        case 'y' -> pad(sb, t.getYear() % 100, 2, noPad);
        case 'Y' -> sb.append(t.getYear());
        case 'H' -> pad(sb, t.getHour(), 2, noPad);
        case 'I' -> pad(sb, t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
        case 'M' -> pad(sb, t.getMinute(), 2, noPad);
        case 'S' -> pad(sb, t.getSecond(), 2, noPad);
        case 'f' -> pad(sb, t.getNano() / 1000, 6, false);
        case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
        case 'j' -> pad(sb, t.getDayOfYear(), 3, noPad);
        case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
        case 'u' -> sb.append(t.getDayOfWeek().getValue());
        case 'V' -> pad(sb, t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), 2, noPad);
        case 'G' -> sb.append(t.get(IsoFields.WEEK_BASED_YEAR));
        case 'z' -> {
          int secs = t.getOffset().getTotalSeconds();
          sb.append(secs < 0 ? '-' : '+');
          secs = Math.abs(secs);
          pad(sb, secs / 3600, 2, false);
          pad(sb, (secs / 60) % 60, 2, false);
        }
        case 'Z' -> sb.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'D' -> sb.append(format(t, "%m/%d/%y"));
        case 'F' -> sb.append(format(t, "%Y-%m-%d"));
        case 'T' -> sb.append(format(t, "%H:%M:%S"));
        case 'R' -> sb.append(format(t, "%H:%M"));
        case 'c' -> sb.append(format(t, "%a %b %e %H:%M:%S %Y"));
        case 'x' -> sb.append(format(t, "%m/%d/%y"));
        case 'X' -> sb.append(format(t, "%H:%M:%S"));
        case 's' -> sb.append(t.toEpochSecond());
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case '%' -> sb.append('%');
        case 'U' -> {
          int yday = t.get(ChronoField.DAY_OF_YEAR) - 1;
          int wday = t.getDayOfWeek().getValue() % 7;
          pad(sb, (yday + 7 - wday) / 7, 2, noPad);
        }
        case 'W' -> {
          int yday = t.get(ChronoField.DAY_OF_YEAR) - 1;
          int wday = (t.getDayOfWeek().getValue() + 6) % 7;
          pad(sb, (yday + 7 - wday) / 7, 2, noPad);
        }
        default -> sb.append('%').append(d);
      }
    }
    return sb.toString();
  }

  private static void pad(StringBuilder sb, int v, int width, boolean noPad) {
    String s = Integer.toString(v);
    if (!noPad) {
      sb.append("0".repeat(Math.max(0, width - s.length())));
    }
    sb.append(s);
  }
}
