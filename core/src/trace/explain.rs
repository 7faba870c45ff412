//! Plain-language explanations of every field, in English and Portuguese
//! (the language of the assignments this protocol comes from).

use crate::field::Field;
use crate::name::escape;

/// Where a field sits, for the fields whose meaning depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Auth,
    Download,
    List,
    UploadFirst,
    UploadFinal,
    Resume,
    MGet,
    Entry,
    Refusal,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u32_of(raw: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    for (i, v) in raw.iter().take(4).enumerate() {
        b[i] = *v;
    }
    u32::from_be_bytes(b)
}

/// The displayed value and the two explanations of one field.
pub(crate) fn describe(field: Field, raw: &[u8], context: Context) -> (String, String, String) {
    let byte = raw.first().copied().unwrap_or(0);
    let n = u32_of(raw);
    // Only names are shown as text (never a whole body).
    let text = || escape(raw);
    let (value, en, pt): (String, String, String) = match field {
        Field::Op => match crate::message::Op::from_byte(byte) {
            Some(op) => (
                format!("{byte} ({})", op.as_str()),
                format!(
                    "Operation code: {byte} asks for {}. Each connection carries one operation.",
                    op.as_str()
                ),
                format!(
                    "Código da operação: {byte} pede {}. Cada conexão leva uma única operação.",
                    op.as_str()
                ),
            ),
            None => (
                format!("{byte} (undefined)"),
                format!(
                    "Operation code {byte} is not defined by the protocol: the server answers status 1 and closes."
                ),
                format!(
                    "O código de operação {byte} não existe no protocolo: o servidor responde status 1 e fecha."
                ),
            ),
        },
        Field::NameLen | Field::MaskLen | Field::UserLen | Field::PassLen | Field::ListingLen => {
            let what = match field {
                Field::NameLen => ("file name", "nome do arquivo"),
                Field::MaskLen => ("mask", "máscara"),
                Field::UserLen => ("user name", "nome de usuário"),
                Field::PassLen => ("password", "senha"),
                _ => ("JSON listing", "listagem JSON"),
            };
            (
                n.to_string(),
                format!(
                    "Length of the {} that follows: {n} bytes (4 bytes, big-endian).",
                    what.0
                ),
                format!(
                    "Tamanho do(a) {} a seguir: {n} bytes (4 bytes, big-endian).",
                    what.1
                ),
            )
        }
        Field::Name => (
            format!("\"{}\"", text()),
            "File name, relative to the served folder (UTF-8, '/' between folders).".into(),
            "Nome do arquivo, relativo à pasta servida (UTF-8, '/' entre pastas).".into(),
        ),
        Field::Mask => (
            format!("\"{}\"", text()),
            "Glob mask: '*' matches within a folder, '**' across folders.".into(),
            "Máscara glob: '*' casa dentro de uma pasta, '**' atravessa pastas.".into(),
        ),
        Field::User => (
            format!("\"{}\"", text()),
            "User name for the private folder.".into(),
            "Nome de usuário da pasta privada.".into(),
        ),
        Field::Pass => (
            format!("\"{}\"", text()),
            "The password, in the clear: anyone who captures this traffic can read it.".into(),
            "A senha, em texto claro: qualquer um que capture este tráfego pode lê-la.".into(),
        ),
        Field::Position => (
            n.to_string(),
            format!("Resume position: the client already holds the first {n} bytes."),
            format!("Posição de retomada: o cliente já tem os primeiros {n} bytes."),
        ),
        Field::Md5 => (
            hex(raw),
            "MD5 of the bytes the client holds, so the server can check they match its file."
                .into(),
            "MD5 dos bytes que o cliente tem, para o servidor conferir com o seu arquivo.".into(),
        ),
        Field::Size => (
            n.to_string(),
            format!("Size of the file data that follows: {n} bytes."),
            format!("Tamanho dos dados do arquivo a seguir: {n} bytes."),
        ),
        Field::Remaining => (
            n.to_string(),
            format!("Bytes that follow, from the resume position to the end: {n}."),
            format!("Bytes a seguir, da posição de retomada até o fim: {n}."),
        ),
        Field::Count => (
            n.to_string(),
            format!("Number of files that follow: {n}."),
            format!("Número de arquivos a seguir: {n}."),
        ),
        Field::Status => {
            let (en, pt) = match (context, byte) {
                (Context::Auth, 0) => (
                    "login accepted: the next operation acts in the private folder",
                    "login aceito: a próxima operação age na pasta privada",
                ),
                (Context::Auth, _) => (
                    "login denied: the server closes the connection",
                    "login negado: o servidor fecha a conexão",
                ),
                (Context::Download, 0) => (
                    "the file exists and follows",
                    "o arquivo existe e vem a seguir",
                ),
                (Context::Download, _) => (
                    "no such file (or refused); nothing more follows",
                    "arquivo inexistente (ou recusado); nada mais vem",
                ),
                (Context::List, 0) => ("the listing follows", "a listagem vem a seguir"),
                (Context::UploadFirst, 0) => (
                    "upload accepted: the client may send the size and the data",
                    "upload aceito: o cliente pode enviar o tamanho e os dados",
                ),
                (Context::UploadFirst, _) => (
                    "upload refused: the data will not be read",
                    "upload recusado: os dados não serão lidos",
                ),
                (Context::UploadFinal, 0) => ("the file was stored", "o arquivo foi gravado"),
                (Context::UploadFinal, _) => {
                    ("the file was not stored", "o arquivo não foi gravado")
                }
                (Context::Resume, 0) => (
                    "request accepted; a result code follows",
                    "pedido aceito; segue um código de resultado",
                ),
                (Context::Refusal, _) => (
                    "the request broke the protocol: refused, and the server closes",
                    "o pedido violou o protocolo: recusado, e o servidor fecha",
                ),
                (Context::MGet, 0) => (
                    "the mask is valid; a count of files follows",
                    "a máscara é válida; segue a contagem de arquivos",
                ),
                (_, 0) => ("ok", "ok"),
                _ => (
                    "error or refused; nothing more follows",
                    "erro ou recusa; nada mais vem",
                ),
            };
            (
                byte.to_string(),
                format!("Status {byte}: {en}."),
                format!("Status {byte}: {pt}."),
            )
        }
        Field::ResumeResult => {
            let (en, pt) = match byte {
                0 => (
                    "the MD5 matches; the rest of the file follows",
                    "o MD5 confere; o resto do arquivo vem a seguir",
                ),
                10 => ("no such file", "o arquivo não existe"),
                20 => (
                    "the MD5 does not match (or the position is past the end)",
                    "o MD5 não confere (ou a posição passa do fim)",
                ),
                _ => ("undefined result", "resultado indefinido"),
            };
            (
                byte.to_string(),
                format!("Result {byte}: {en}."),
                format!("Resultado {byte}: {pt}."),
            )
        }
        Field::EntryStatus => {
            let (en, pt) = match byte {
                0 => ("this file follows", "este arquivo vem a seguir"),
                10 => (
                    "matched but could not be read: skipped",
                    "casou mas não pôde ser lido: pulado",
                ),
                _ => ("undefined entry status", "status de entrada indefinido"),
            };
            (
                byte.to_string(),
                format!("Entry status {byte}: {en}."),
                format!("Status da entrada {byte}: {pt}."),
            )
        }
        Field::Listing => (
            format!("{} bytes of JSON", raw.len()),
            "The listing: a JSON array of {\"nome\", \"tamanho\"} objects, sorted by name.".into(),
            "A listagem: um array JSON de objetos {\"nome\", \"tamanho\"}, ordenado por nome."
                .into(),
        ),
        Field::Body => (
            format!("{} bytes", raw.len()),
            "File data, raw bytes exactly as stored.".into(),
            "Dados do arquivo, bytes crus exatamente como gravados.".into(),
        ),
    };
    (value, en, pt)
}
