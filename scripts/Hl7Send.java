import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Sends one HL7 message over MLLP and prints the answer. Usage: java Hl7Send.java HOST PORT [FILE] */
public class Hl7Send {
    public static void main(String[] args) throws Exception {
        String msg = args.length > 2 ? Files.readString(Path.of(args[2])).replace("\r\n", "\r").replace('\n', '\r')
                : "MSH|^~\\&|ADT1|MCM|LABADT|MCM|20250101120000|SECURITY|ADT^A01^ADT_A01|MSG" + System.currentTimeMillis() + "|P|2.5\r"
                + "EVN|A01|20250101120000\rPID|1||PATID1234^^^MCM^MR||JONES^WILLIAM^A||19610615|M\rPV1|1|I|2000^2012^01\r";
        try (Socket s = new Socket(args[0], Integer.parseInt(args[1]))) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(0x0b);
            out.write(msg.getBytes(StandardCharsets.UTF_8));
            out.write(new byte[] {0x1c, 0x0d});
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream ack = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0 && b != 0x1c) {
                if (b != 0x0b) ack.write(b);
            }
            System.out.println(ack.toString(StandardCharsets.UTF_8).replace('\r', '\n'));
        }
    }
}
